// Developer check of audio mixing: page A publishes its microphone and a 440 Hz buffer source together; page B
// hears both, then only the music after A unpublishes the microphone, then sees the audio unpublished.
// Usage: node scripts/smoke-mix.mjs (needs target/debug/stoa and Chromium, like smoke.mjs).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const data = mkdtempSync(join(tmpdir(), "stoa-mix-"));
const server = spawn(join(root, "target/debug/stoa"), ["serve", "--http", "127.0.0.1:0", "--udp", "127.0.0.1:0", "--data", data], { stdio: ["ignore", "pipe", "ignore"] });
const [url, app] = await new Promise((resolve) => { let out = ""; server.stdout.on("data", (c) => { out += c; const m = out.match(/listening: (http:\/\/\S+)/); const a = out.match(/app id: (\w+)/); if (m && a) resolve([m[1], a[1]]); }); });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required"] });
async function open() {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.log("pageerror", e.message));
  await page.route("**/sdk/stoa-rtc.js", (route) => route.fulfill({ path: join(root, "web/dist/stoa-rtc.js"), contentType: "text/javascript" }));
  await page.goto(`${url}/status`);
  await page.addScriptTag({ url: "/sdk/stoa-rtc.js" });
  return page;
}
const a = await open();
const b = await open();
await b.evaluate(async (app) => {
  const client = AgoraRTC.createClient({ mode: "rtc", codec: "vp8" });
  window.client = client; window.events = [];
  client.on("user-published", async (user, mt) => { window.events.push(`pub ${mt}`); const t = await client.subscribe(user, mt); t.play(); window.remote = t; });
  client.on("user-unpublished", (user, mt) => window.events.push(`unpub ${mt}`));
  await client.join(app, "mix", null, 2);
}, app);
const result = await a.evaluate(async (app) => {
  const client = AgoraRTC.createClient({ mode: "rtc", codec: "vp8" });
  await client.join(app, "mix", null, 1);
  const ctx = new OfflineAudioContext(1, 48000 * 3, 48000);
  const buffer = ctx.createBuffer(1, 48000 * 3, 48000);
  const d = buffer.getChannelData(0);
  for (let i = 0; i < d.length; i++) d[i] = Math.sin(2 * Math.PI * 440 * i / 48000) * 0.5;
  const music = await AgoraRTC.createBufferSourceAudioTrack({ source: buffer });
  music.startProcessAudioBuffer({ loop: true });
  const mic = await AgoraRTC.createMicrophoneAudioTrack();
  await client.publish([mic, music]);
  const n1 = client.localTracks.length;
  await new Promise((r) => setTimeout(r, 2500));
  window.mic = mic; window.music = music; window.client = client;
  return { n1 };
}, app);
const level = () => b.evaluate(async () => { let peak = 0; for (let i = 0; i < 20; i++) { peak = Math.max(peak, window.remote?.getVolumeLevel() ?? 0); await new Promise((r) => setTimeout(r, 50)); } return peak; });
const both = await level();
await a.evaluate(async () => { await window.client.unpublish(window.mic); });
await a.waitForTimeout(1500);
const musicOnly = await level();
const n2 = await a.evaluate(() => window.client.localTracks.length);
await a.evaluate(async () => { await window.client.unpublish(window.music); });
await a.waitForTimeout(1000);
const events = await b.evaluate(() => window.events);
console.log(JSON.stringify({ ...result, both, musicOnly, n2, events }));
await browser.close();
server.kill();
rmSync(data, { recursive: true, force: true });
const ok = result.n1 === 2 && both > 0.3 && musicOnly > 0.3 && n2 === 1 && JSON.stringify(events) === '["pub audio","unpub audio"]';
console.log(ok ? "MIX OK" : "MIX FAILED");
process.exit(ok ? 0 : 1);
