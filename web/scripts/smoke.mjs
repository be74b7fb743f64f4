// Developer smoke test of the real path: `stoa serve` (target/debug/stoa) on ephemeral ports, two headless
// Chromium pages loading /sdk/stoa-rtc.js, join, publish the fake camera and microphone, subscribe to each other,
// and check that video decodes and audio carries energy. Usage: node scripts/smoke.mjs [vp8|vp9|h264]
// (The acceptance tests live in web/tests/browser; this is a quick check while developing the SDK.)

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const codec = process.argv[2] ?? "vp8";
const data = mkdtempSync(join(tmpdir(), "stoa-smoke-"));

function startServer() {
  const server = spawn(join(root, "target/debug/stoa"), ["serve", "--http", "127.0.0.1:0", "--udp", "127.0.0.1:0", "--data", data], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20000);
    server.stdout.on("data", (chunk) => {
      out += chunk;
      const url = out.match(/listening: (http:\/\/\S+)/)?.[1];
      const app = out.match(/app id: ([0-9a-f]{32})/)?.[1];
      if (url && app) {
        clearTimeout(timer);
        resolve({ server, url, app });
      }
    });
    server.stderr.on("data", (chunk) => process.stderr.write(`[stoa] ${chunk}`));
    server.on("exit", (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

const { server, url, app } = await startServer();
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
  ],
});

async function openPage(name) {
  const page = await browser.newPage();
  page.on("console", (m) => console.log(`[${name}] ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => console.log(`[${name}] pageerror: ${e.message}`));
  if (process.env.SMOKE_DEBUG) {
    page.on("websocket", (ws) => {
      ws.on("framereceived", (f) => console.log(`[${name}] <- ${f.payload}`));
      ws.on("framesent", (f) => console.log(`[${name}] -> ${f.payload}`));
    });
  }
  // The freshly built bundle, even when target/debug/stoa embeds an older one.
  await page.route("**/sdk/stoa-rtc.js", (route) =>
    route.fulfill({ path: join(root, "web/dist/stoa-rtc.js"), contentType: "text/javascript; charset=utf-8" }),
  );
  await page.goto(`${url}/status`);
  await page.addScriptTag({ url: "/sdk/stoa-rtc.js" });
  await page.evaluate(() => {
    const div = document.createElement("div");
    div.id = "remote";
    div.style.cssText = "width:320px;height:240px";
    document.body.appendChild(div);
  });
  return page;
}

async function joinAndPublish(page, uid) {
  return page.evaluate(async ({ app, uid, codec }) => {
    const AgoraRTC = window.AgoraRTC;
    const client = AgoraRTC.createClient({ mode: "rtc", codec });
    window.client = client;
    window.states = [];
    client.on("connection-state-change", (cur, prev) => window.states.push(`${prev}->${cur}`));
    window.exceptions = [];
    client.on("exception", (e) => window.exceptions.push(`${e.code} ${e.msg} ${e.uid}`));
    window.timings = {};
    client.on("user-published", async (user, mediaType) => {
      const asked = performance.now();
      const track = await client.subscribe(user, mediaType);
      if (mediaType === "video") {
        window.timings.subscribeVideoMs ??= Math.round(performance.now() - asked);
        track.once("first-frame-decoded", () => (window.timings.firstFrameMs ??= Math.round(performance.now() - asked)));
        track.play("remote");
      } else track.play();
      window[`remote_${mediaType}`] = track;
    });
    let t = performance.now();
    const joined = await client.join(app, "smoke", null, uid);
    window.timings.joinMs = Math.round(performance.now() - t);
    const [mic, cam] = await AgoraRTC.createMicrophoneAndCameraTracks({}, { encoderConfig: "480p_1" });
    t = performance.now();
    await client.publish([mic, cam]);
    window.timings.publishMs = Math.round(performance.now() - t);
    return joined;
  }, { app, uid, codec });
}

async function measure(page) {
  return page.evaluate(async (process_debug) => {
    const video = document.querySelector("#remote video");
    const client = window.client;
    const audio = window.remote_audio;
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, audio ? audio.getVolumeLevel() : 0);
      await new Promise((r) => setTimeout(r, 50));
    }
    const stats = client.getRemoteVideoStats();
    const audioStats = client.getRemoteAudioStats();
    return {
      width: video?.videoWidth ?? 0,
      height: video?.videoHeight ?? 0,
      peak,
      video: Object.values(stats)[0],
      audio: Object.values(audioStats)[0],
      rtc: client.getRTCStats(),
      local: client.getLocalVideoStats(),
      states: window.states,
      exceptions: window.exceptions,
      timings: window.timings,
      debug: process_debug ? await (async () => { const out = []; (await client.subscriber.pc.getStats()).forEach((e) => { if (e.type === "transport" || e.type === "candidate-pair") out.push(e); }); return out; })() : undefined,
    };
  }, !!process.env.SMOKE_DEBUG);
}

let failed = false;
try {
  const a = await openPage("a");
  const b = await openPage("b");
  console.log("joined", await joinAndPublish(a, 1001), await joinAndPublish(b, "bob"));
  await a.waitForTimeout(5000);
  for (const [name, page] of [["a", a], ["b", b]]) {
    const m = await measure(page);
    console.log(name, JSON.stringify(m));
    if (!(m.width > 0 && m.height > 0 && m.video?.receiveBytes > 0 && m.peak > 0.001)) failed = true;
    if (m.exceptions.length > 0) failed = true;
  }
  // Drop a's signalling socket: it must go RECONNECTING then CONNECTED by itself, and video must keep decoding.
  const before = await b.evaluate(() => Object.values(window.client.getRemoteVideoStats())[0]?.receiveBytes ?? 0);
  await a.evaluate(() => window.client._dropSignallingLink());
  await a.waitForTimeout(4000);
  const after = await measure(a);
  const bAfter = await b.evaluate(() => Object.values(window.client.getRemoteVideoStats())[0]?.receiveBytes ?? 0);
  console.log("after drop", JSON.stringify(after.states), "b received", before, "->", bAfter);
  if (!after.states.includes("CONNECTED->RECONNECTING") || after.states.at(-1) !== "RECONNECTING->CONNECTED") failed = true;
  if (!(bAfter > before)) failed = true;

  // Mute, unpublish and re-publish, as an app would: the peer's events, then video again on a re-used m-line.
  await a.evaluate(() => {
    window.events = [];
    for (const name of ["user-published", "user-unpublished", "user-info-updated", "user-left"]) {
      window.client.on(name, (user, arg) => window.events.push(`${name}:${typeof user === "object" ? user.uid : user}:${arg}`));
    }
  });
  await b.evaluate(async () => {
    const [mic, cam] = window.client.localTracks.sort((x) => (x.trackMediaType === "audio" ? -1 : 1));
    await mic.setMuted(true);
    await new Promise((r) => setTimeout(r, 300));
    await mic.setMuted(false);
    await window.client.unpublish(cam);
    await new Promise((r) => setTimeout(r, 300));
    await window.client.publish(cam);
    await new Promise((r) => setTimeout(r, 1500));
    // Disabling releases the camera and keeps the subscription; enabling captures again on the same sender.
    await cam.setEnabled(false);
    await new Promise((r) => setTimeout(r, 300));
    await cam.setEnabled(true);
  });
  await a.waitForTimeout(4000);
  const bytesBefore = (await measure(a)).video?.receiveBytes ?? 0;
  await a.waitForTimeout(1500);
  const afterRepublish = await measure(a);
  const events = await a.evaluate(() => window.events);
  console.log("events on a", JSON.stringify(events), "video after re-publish", afterRepublish.width, afterRepublish.video?.receiveBytes);
  const expected = [
    "user-info-updated:bob:mute-audio", "user-unpublished:bob:audio", "user-info-updated:bob:unmute-audio",
    "user-published:bob:audio", "user-unpublished:bob:video", "user-published:bob:video",
    "user-info-updated:bob:disable-local-video", "user-unpublished:bob:video",
    "user-info-updated:bob:enable-local-video", "user-published:bob:video",
  ];
  if (JSON.stringify(events) !== JSON.stringify(expected)) failed = true;
  if (!(afterRepublish.width > 0 && afterRepublish.video?.receiveBytes > bytesBefore)) failed = true;
  await b.evaluate(() => window.client.leave());
  await a.waitForTimeout(500);
  const left = await a.evaluate(() => [window.events.at(-1), window.client.remoteUsers.length]);
  console.log("after b left", JSON.stringify(left));
  if (left[0] !== "user-left:bob:Quit" || left[1] !== 0) failed = true;
} catch (error) {
  console.error(error);
  failed = true;
} finally {
  await browser.close();
  server.kill();
  rmSync(data, { recursive: true, force: true });
}
console.log(failed ? "SMOKE FAILED" : "SMOKE OK");
process.exit(failed ? 1 : 0);
