// The Web SDK's acceptance tests (issue 4), run by run.mjs. Each test gets `ctx` (server, browser, media, track(),
// launch(), skip(), log) and must fail when the behaviour it names breaks.
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  REPO,
  STOA_BIN,
  TONE_HZ,
  VIDEO,
  Front,
  UdpRelay,
  assert,
  expectCode,
  must,
  openContext,
  openTestPage,
  sleep,
  stoaJoinMissing,
  waitFor,
  withTimeout,
} from './harness.mjs';

let channelCounter = 0;
/** A channel of its own for every test, so tests never see each other's users. */
const freshChannel = (tag) => `bt-${tag}-${process.pid}-${++channelCounter}`;

/** A page of the test harness in a context of its own (its own devices, storage and permissions). */
async function harnessPage(ctx, origin = ctx.origin, options) {
  const context = ctx.track(await openContext(ctx.browser, origin, options));
  return openTestPage(context, origin);
}

/** Joins, creates the fake microphone and camera tracks and publishes them. */
async function joinAndPublish(page, appId, channel, codec = 'vp8', uid = null) {
  const joined = await must(page, 'join', { appId, channel, codec, uid });
  await must(page, 'createTracks');
  await must(page, 'publish');
  return joined;
}

/** Waits until `page` decodes `remoteUid`'s video at the fake camera's size with frames still coming. */
async function expectRemoteVideo(page, remoteUid, { codec, what = 'remote video', size = VIDEO } = {}) {
  const first = await waitFor(
    async () => {
      const video = await must(page, 'video', remoteUid);
      return video && video.width === size.width && video.height === size.height && video.frames > 3 ? video : false;
    },
    { timeout: 25000, what: `${what} of ${remoteUid} decoded at ${size.width}x${size.height}` },
  ).catch(async (error) => {
    const inbound = await must(page, 'inbound').catch(() => null);
    const state = await must(page, 'state').catch(() => null);
    throw new Error(`${error.message}\ninbound-rtp: ${JSON.stringify(inbound)}\nstate: ${JSON.stringify(state)}`);
  });
  // Frames must keep coming. A count that went down means the SDK replaced the <video> element (a re-subscription
  // after a reconnection does): measure again on the new one.
  let earlier = first;
  let later;
  for (let attempt = 0; ; attempt += 1) {
    await sleep(1000);
    later = await must(page, 'video', remoteUid);
    if (later && later.frames > earlier.frames) break;
    assert(attempt < 4 && later && later.frames < earlier.frames, `${what}: no new frames in 1 s (${earlier.frames} -> ${later?.frames})`);
    earlier = later;
  }
  const inbound = await must(page, 'inbound');
  const videos = inbound.filter((s) => s.kind === 'video' && s.framesDecoded > 0);
  assert(videos.length > 0, `${what}: the browser reports no inbound video with decoded frames: ${JSON.stringify(inbound)}`);
  if (codec) {
    const expected = `video/${codec === 'h264' ? 'H264' : codec.toUpperCase()}`;
    assert(
      videos.every((s) => s.codec === expected),
      `${what}: expected codec ${expected}, the browser decodes ${videos.map((s) => s.codec).join(', ')}`,
    );
  }
  return later;
}

/** Waits until the analyser on `remoteUid`'s audio hears the fake microphone's tone. */
async function expectRemoteTone(page, remoteUid, { hz = TONE_HZ, what = 'remote audio' } = {}) {
  return waitFor(
    async () => {
      const audio = await must(page, 'audio', remoteUid);
      return audio && audio.rms > 0.005 && Math.abs(audio.peakHz - hz) < 25 ? audio : { ok: false, audio };
    },
    { timeout: 20000, what: `${what} of ${remoteUid} with energy at ${hz} Hz` },
  );
}

async function twoPartyCall(ctx, codec) {
  const { server } = ctx;
  const channel = freshChannel(codec);
  const alice = await harnessPage(ctx);
  const bob = await harnessPage(ctx);
  const aliceUid = await joinAndPublish(alice, server.appId, channel, codec);
  const bobUid = await joinAndPublish(bob, server.appId, channel, codec);
  const [aliceSees, bobSees] = await Promise.all([
    expectRemoteVideo(alice, bobUid, { codec }),
    expectRemoteVideo(bob, aliceUid, { codec }),
  ]);
  const [aliceHears, bobHears] = await Promise.all([expectRemoteTone(alice, bobUid), expectRemoteTone(bob, aliceUid)]);
  // "network-quality" every 2 s, rated from the media's own RTCP: a loopback link is excellent or good both ways.
  const qualities = await Promise.all(
    [alice, bob].map((page) =>
      waitFor(
        async () => {
          const { qualities, networkQuality } = await stateOf(page);
          const measured = qualities.filter(([up, down]) => up > 0 && down > 0);
          return measured.length >= 2 ? { last: measured.at(-1), networkQuality } : false;
        },
        { timeout: 10000, what: 'two network-quality events with both directions measured' },
      ),
    ),
  );
  for (const { last, networkQuality } of qualities) {
    assert(last.every((level) => level >= 1 && level <= 2), `a loopback call rated ${last} (uplink, downlink)`);
    assert(networkQuality.uplinkNetworkQuality >= 1 && networkQuality.downlinkNetworkQuality >= 1, 'getNetworkQuality measured');
  }
  // Each page's rating reaches the other through the server: getRemoteNetworkQuality.
  const relayed = await Promise.all(
    [
      [alice, bobUid],
      [bob, aliceUid],
    ].map(([page, otherUid]) =>
      waitFor(
        async () => {
          const rating = (await stateOf(page)).remoteNetworkQuality[String(otherUid)];
          return rating && rating.uplinkNetworkQuality > 0 && rating.downlinkNetworkQuality > 0 ? rating : false;
        },
        { timeout: 10000, what: `the rating of uid ${otherUid} relayed by the server` },
      ),
    ),
  );
  for (const rating of relayed) {
    const levels = [rating.uplinkNetworkQuality, rating.downlinkNetworkQuality];
    assert(levels.every((level) => level >= 1 && level <= 2), `a loopback peer reported ${levels}`);
  }
  ctx.log.push(
    `network quality (uplink, downlink): alice ${qualities[0].last}, bob ${qualities[1].last}; ` +
      `alice sees bob's ${Object.values(relayed[0])}, bob sees alice's ${Object.values(relayed[1])}`,
  );
  ctx.log.push(
    `${codec}: alice decodes ${aliceSees.width}x${aliceSees.height} (${aliceSees.frames} frames), hears ${aliceHears.peakHz.toFixed(0)} Hz rms ${aliceHears.rms.toFixed(3)}; ` +
      `bob decodes ${bobSees.width}x${bobSees.height} (${bobSees.frames} frames), hears ${bobHears.peakHz.toFixed(0)} Hz rms ${bobHears.rms.toFixed(3)}`,
  );
  await Promise.all([must(alice, 'leave'), must(bob, 'leave')]);
}

/** The page of the error-path tests: joined to a fresh channel when `join` is set. */
async function errorPage(ctx, { join = false } = {}) {
  const page = await harnessPage(ctx);
  if (join) await must(page, 'join', { appId: ctx.server.appId, channel: freshChannel('err') });
  return page;
}

async function stateOf(page) {
  return must(page, 'state');
}

export const tests = [
  { name: 'two pages call each other with vp8', timeout: 60000, run: (ctx) => twoPartyCall(ctx, 'vp8') },
  { name: 'two pages call each other with vp9', timeout: 60000, run: (ctx) => twoPartyCall(ctx, 'vp9') },
  { name: 'two pages call each other with h264', timeout: 60000, run: (ctx) => twoPartyCall(ctx, 'h264') },

  {
    name: 'a page written like Agora\'s samples works by pointing its script tag at stoa',
    timeout: 60000,
    run: (ctx) => agoraSample(ctx, { sdkUrl: null }),
  },
  {
    name: 'the Agora-style page hosted on its own origin works with the script tag pointing at stoa\'s URL',
    timeout: 60000,
    run: (ctx) => agoraSample(ctx, { sdkUrl: `${ctx.server.url}/sdk/stoa-rtc.js` }),
  },

  {
    name: 'a page on the ES module bundle calls a page on the UMD bundle',
    timeout: 60000,
    async run(ctx) {
      const channel = freshChannel('esm');
      const esmContext = ctx.track(await openContext(ctx.browser, ctx.origin));
      const esm = await openTestPage(esmContext, ctx.origin, 'esm.html');
      const umd = await harnessPage(ctx);
      const exports = await esm.evaluate(() => window.esmExports);
      assert(exports.includes('default'), `stoa-rtc.mjs has no default export: ${exports.join(', ')}`);
      const esmUid = await joinAndPublish(esm, ctx.server.appId, channel);
      const umdUid = await joinAndPublish(umd, ctx.server.appId, channel);
      await Promise.all([expectRemoteVideo(esm, umdUid), expectRemoteVideo(umd, esmUid)]);
      ctx.log.push(`stoa-rtc.mjs exports: ${exports.join(', ')}`);
    },
  },
  {
    name: 'refused media permission is PERMISSION_DENIED',
    timeout: 30000,
    async run(ctx) {
      // A browser without the fake-UI flag: headless Chromium dismisses the permission prompt, as a user refusing it.
      const browser = await ctx.launch({ media: ctx.media, fakeUi: false });
      const context = ctx.track(await openContext(browser, ctx.origin));
      const page = await openTestPage(context, ctx.origin);
      await expectCode(page, 'PERMISSION_DENIED', 'createCamera');
      await expectCode(page, 'PERMISSION_DENIED', 'createMicrophone');
    },
  },
  {
    name: 'a device id that does not exist is DEVICE_NOT_FOUND',
    timeout: 30000,
    async run(ctx) {
      const page = await errorPage(ctx);
      await expectCode(page, 'DEVICE_NOT_FOUND', 'createCamera', { cameraId: 'no-such-camera' });
      await expectCode(page, 'DEVICE_NOT_FOUND', 'createMicrophone', { microphoneId: 'no-such-microphone' });
    },
  },
  {
    name: 'impossible camera constraints are CONSTRAINT_NOT_SATISFIED',
    timeout: 30000,
    async run(ctx) {
      const page = await errorPage(ctx);
      await expectCode(page, 'CONSTRAINT_NOT_SATISFIED', 'createCamera', {
        encoderConfig: { width: { min: 4000 }, height: { min: 3000 } },
      });
    },
  },
  {
    name: 'subscribing to a user who has not published is REMOTE_USER_IS_NOT_PUBLISHED',
    timeout: 30000,
    async run(ctx) {
      const channel = freshChannel('nopub');
      const quiet = await harnessPage(ctx);
      const eager = await harnessPage(ctx);
      const quietUid = await must(quiet, 'join', { appId: ctx.server.appId, channel });
      await must(eager, 'join', { appId: ctx.server.appId, channel, autoSubscribe: false });
      await waitFor(async () => (await stateOf(eager)).remoteUsers.some((u) => u.uid === quietUid), {
        what: 'user-joined of the quiet user',
      });
      await expectCode(eager, 'REMOTE_USER_IS_NOT_PUBLISHED', 'subscribe', quietUid, 'video');
      await expectCode(eager, 'REMOTE_USER_IS_NOT_PUBLISHED', 'subscribe', quietUid, 'audio');
    },
  },
  {
    name: 'publishing a second video track is CAN_NOT_PUBLISH_MULTIPLE_VIDEO_TRACKS',
    timeout: 30000,
    async run(ctx) {
      const page = await errorPage(ctx);
      await joinAndPublish(page, ctx.server.appId, freshChannel('twovideo'));
      await expectCode(page, 'CAN_NOT_PUBLISH_MULTIPLE_VIDEO_TRACKS', 'publishSecondVideo');
    },
  },
  {
    name: 'a bad channel name is INVALID_PARAMS',
    timeout: 30000,
    async run(ctx) {
      const page = await errorPage(ctx);
      for (const channel of ['bad/name', '', 'x'.repeat(65)]) {
        const error = await expectCode(page, 'INVALID_PARAMS', 'join', { appId: ctx.server.appId, channel });
        ctx.log.push(`channel ${JSON.stringify(channel.slice(0, 10))}: ${error.message}`);
      }
    },
  },
  {
    name: 'the same uid twice in a channel is UID_CONFLICT',
    timeout: 30000,
    async run(ctx) {
      const channel = freshChannel('uid');
      const first = await harnessPage(ctx);
      const second = await harnessPage(ctx);
      assert((await must(first, 'join', { appId: ctx.server.appId, channel, uid: 4242 })) === 4242, 'first join keeps uid 4242');
      await expectCode(second, 'UID_CONFLICT', 'join', { appId: ctx.server.appId, channel, uid: 4242 });
    },
  },
  {
    name: 'a buffer source from a 404 URL or from garbage bytes fails with the fetch and decode codes',
    timeout: 30000,
    async run(ctx) {
      const page = await errorPage(ctx);
      await page.context().route('**/garbage.mp3', (route) =>
        route.fulfill({ status: 200, contentType: 'audio/mpeg', body: Buffer.from('this is not audio at all '.repeat(40)) }),
      );
      await expectCode(page, 'FETCH_AUDIO_FILE_FAILED', 'createBufferSource', `${ctx.origin}/no-such-file.mp3`);
      await expectCode(page, 'DECODE_AUDIO_FILE_FAILED', 'createBufferSource', `${ctx.origin}/garbage.mp3`);
    },
  },
  {
    name: 'a local file that can no longer be read is READ_LOCAL_AUDIO_FILE_ERROR',
    timeout: 30000,
    async run(ctx) {
      // The page holds a File from its <input type="file">; the file is deleted on disk after it was chosen, as a
      // file on a removed drive or deleted by another program. The same File object decoded while it was there.
      const dir = await mkdtemp(path.join(os.tmpdir(), 'stoa-file-'));
      try {
        const file = path.join(dir, 'tone.wav');
        await copyFile(ctx.media.audio, file);
        const page = await errorPage(ctx);
        await page.setInputFiles('#audio-file', file);
        const seconds = await must(page, 'createBufferSourceFromFile');
        assert(seconds > 1, `the chosen file decodes (${seconds} s) while it exists`);
        await rm(file);
        const error = await expectCode(page, 'READ_LOCAL_AUDIO_FILE_ERROR', 'createBufferSourceFromFile');
        ctx.log.push(`decoded ${seconds.toFixed(1)} s, then after deletion: ${error.message}`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'screen sharing with audio required but not shared is SHARE_AUDIO_NOT_ALLOWED',
    timeout: 30000,
    async run(ctx) {
      // Headless Chromium's fake picker shares the screen with audio; the harness can play a user who does not.
      const page = await errorPage(ctx);
      const shared = { enable: await must(page, 'createScreen', 'enable'), auto: await must(page, 'createScreen', 'auto') };
      for (const [mode, kinds] of Object.entries(shared)) {
        assert(JSON.stringify(kinds) === '["video","audio"]', `"${mode}" with audio shared gives both tracks, got ${kinds}`);
      }
      const noAudio = { userSharesAudio: false };
      const kinds = await must(page, 'createScreen', 'auto', noAudio);
      assert(JSON.stringify(kinds) === '["video"]', `"auto" gives the screen alone when no audio is shared, got ${kinds}`);
      const error = await expectCode(page, 'SHARE_AUDIO_NOT_ALLOWED', 'createScreen', 'enable', noAudio);
      ctx.log.push(error.message);
    },
  },

  {
    name: 'video unpublished and published again (twice) reaches the subscriber each time',
    timeout: 60000,
    async run(ctx) {
      const channel = freshChannel('republish');
      const alice = await harnessPage(ctx);
      const bob = await harnessPage(ctx);
      const aliceUid = await joinAndPublish(alice, ctx.server.appId, channel);
      await must(bob, 'join', { appId: ctx.server.appId, channel });
      await expectRemoteVideo(bob, aliceUid, { what: 'the first publication' });
      for (const round of [1, 2]) {
        await must(alice, 'unpublishVideo');
        await waitFor(async () => (await stateOf(bob)).remoteUsers.some((u) => u.uid === aliceUid && !u.hasVideo), {
          what: `bob to see alice's video unpublished (round ${round})`,
        });
        await must(alice, 'publishVideo');
        await expectRemoteVideo(bob, aliceUid, { what: `publication ${round + 1}` }).catch(async (error) => {
          const failures = (await stateOf(bob)).events.filter((e) => e.name === 'subscribe-error');
          const rejected = await bob.evaluate(() => window.__rejectedDescriptions.map((d) => d.sdp));
          const msid = rejected.map((sdp) => sdp.split('\r\n').filter((l) => /^(m=|a=msid|a=mid|a=ssrc:\d+ msid|a=sendonly|a=inactive)/.test(l)).join(' / '));
          throw new Error(
            `${error.message.split('\n')[0]}\nbob's subscribe errors: ${JSON.stringify(failures)}` +
              (msid.length ? `\nrejected offer (m-line, mid, msid lines): ${msid.join('\n')}` : ''),
          );
        });
      }
    },
  },
  {
    name: 'a dropped websocket reconnects by itself and media flows again (resumed session)',
    timeout: 60000,
    run: (ctx) => reconnection(ctx, { downMs: 0 }),
  },
  {
    name: 'a websocket down longer than the session timeout reconnects, re-publishes and re-subscribes',
    timeout: 75000,
    run: (ctx) => reconnection(ctx, { downMs: 4000 }),
  },

  {
    name: 'a media path lost while signalling stays up: media-reconnect-start / -end, then media flows without a new join',
    timeout: 75000,
    run: mediaPathOutage,
  },

  {
    name: 'a media path that never comes back (a network change): ICE restarts move the media to a new path',
    timeout: 90000,
    run: mediaPathChange,
  },

  {
    name: 'browser and Rust SDK (stoa join) hear and see each other',
    timeout: 90000,
    run: interopWithRustSdk,
  },

  { name: 'the demo page holds a call between two tabs', timeout: 60000, run: demoCall },
  { name: 'the demo page shares a screen in place of the camera and gives the camera back', timeout: 75000, run: demoScreenShare },
];

/**
 * Waits until both pages decode frames of each other again after an outage: the first keyframe after it (a PLI
 * through the SFU) restarts decoding, which can take a few seconds.
 */
async function framesGrowAgain(alice, bobUid, bob, aliceUid) {
  const framesNow = async () => [
    (await must(alice, 'video', bobUid))?.frames ?? 0,
    (await must(bob, 'video', aliceUid))?.frames ?? 0,
  ];
  const frozen = await framesNow();
  await waitFor(
    async () => {
      const [aliceFrames, bobFrames] = await framesNow();
      return aliceFrames > frozen[0] && bobFrames > frozen[1];
    },
    { timeout: 15000, interval: 100, what: 'decoded frames to grow again on both pages' },
  );
}

/**
 * Alice's media goes through UDP relays (her page rewrites the server's candidates to them); the relays then drop
 * everything until her browser reports the lost path, and let it through again. Her WebSocket is not relayed.
 */
async function mediaPathOutage(ctx) {
  const { server } = ctx;
  assert(server.mediaPorts.length > 0, 'stoa serve printed its media ports');
  const relays = await Promise.all(server.mediaPorts.map((port) => UdpRelay.start(port)));
  try {
    const channel = freshChannel('media-outage');
    const alice = await harnessPage(ctx);
    const bob = await harnessPage(ctx);
    await must(alice, 'relayMedia', Object.fromEntries(relays.map((relay) => [relay.targetPort, relay.port])));
    const aliceUid = await joinAndPublish(alice, server.appId, channel);
    const bobUid = await joinAndPublish(bob, server.appId, channel);
    await Promise.all([expectRemoteVideo(alice, bobUid), expectRemoteVideo(bob, aliceUid)]);
    const reconnectUids = async (name) =>
      (await stateOf(alice)).events.filter((e) => e.name === name).map((e) => e.uid);

    const cutAt = Date.now();
    for (const relay of relays) relay.cut();
    // Her publisher transport carries her own media, her subscriber transport bob's.
    const started = await waitFor(
      async () => {
        const uids = await reconnectUids('media-reconnect-start');
        return uids.includes(aliceUid) && uids.includes(bobUid) ? uids : false;
      },
      { timeout: 20000, interval: 100, what: "media-reconnect-start for alice's own media and for bob's" },
    );
    const noticedMs = Date.now() - cutAt;
    for (const relay of relays) relay.restore();
    const dropped = relays.reduce((sum, relay) => sum + relay.dropped, 0);
    const ended = await waitFor(
      async () => {
        const uids = await reconnectUids('media-reconnect-end');
        return uids.includes(aliceUid) && uids.includes(bobUid) ? uids : false;
      },
      { timeout: 20000, interval: 100, what: 'media-reconnect-end for both after the path came back' },
    );
    const endedMs = Date.now() - cutAt - noticedMs;
    await framesGrowAgain(alice, bobUid, bob, aliceUid);
    const resumedMs = Date.now() - cutAt - noticedMs;
    const [aliceSees, bobSees] = await Promise.all([
      expectRemoteVideo(alice, bobUid, { what: 'alice receiving bob after the outage' }),
      expectRemoteVideo(bob, aliceUid, { what: 'bob receiving alice after the outage' }),
    ]);
    // The same two transports carried the media again: nothing was published or subscribed anew. (Under load the
    // test server's 750 ms link timeout can still make the socket resume, which keeps the session and transports.)
    const { states, peerConnections } = await stateOf(alice);
    assert(peerConnections === 2, `alice's media recovered on her two transports, yet she made ${peerConnections}`);
    const bobSaw = (await stateOf(bob)).events.filter((e) => e.uid === aliceUid).map((e) => e.name);
    assert(!bobSaw.includes('user-left'), `alice's session survived the outage; bob saw ${bobSaw.join(', ')}`);
    ctx.log.push(
      `path cut; reconnect-start ${JSON.stringify(started)} after ${noticedMs} ms (${dropped} datagrams dropped), ` +
        `reconnect-end ${JSON.stringify(ended)} ${endedMs} ms after the path came back, video decoded again both ways ` +
        `after ${resumedMs} ms; alice's states: ${states.join(' -> ')}; ` +
        `frames after: alice ${aliceSees.frames}, bob ${bobSees.frames}`,
    );
  } finally {
    for (const relay of relays) relay.close();
  }
}

/**
 * Alice's media goes through one set of UDP relays, which then go dead for good, as the old network of a device
 * that switched networks. Only an ICE restart can bring her media back: her page rewrites the candidates of every
 * later SDP to a second set of relays, the new path.
 */
async function mediaPathChange(ctx) {
  const { server } = ctx;
  const oldPath = await Promise.all(server.mediaPorts.map((port) => UdpRelay.start(port)));
  const newPath = await Promise.all(server.mediaPorts.map((port) => UdpRelay.start(port)));
  const portMap = (relays) => Object.fromEntries(relays.map((relay) => [relay.targetPort, relay.port]));
  try {
    const channel = freshChannel('media-change');
    const alice = await harnessPage(ctx);
    const bob = await harnessPage(ctx);
    await must(alice, 'relayMedia', portMap(oldPath));
    const aliceUid = await joinAndPublish(alice, server.appId, channel);
    const bobUid = await joinAndPublish(bob, server.appId, channel);
    await Promise.all([expectRemoteVideo(alice, bobUid), expectRemoteVideo(bob, aliceUid)]);
    assert(newPath.every((relay) => relay.forwarded === 0), 'the new path is unused before the change');

    await must(alice, 'relayMedia', portMap(newPath));
    const cutAt = Date.now();
    for (const relay of oldPath) relay.cut();
    const reconnectUids = async (name) =>
      (await stateOf(alice)).events.filter((e) => e.name === name).map((e) => e.uid);
    await waitFor(
      async () => {
        const uids = await reconnectUids('media-reconnect-start');
        return uids.includes(aliceUid) && uids.includes(bobUid);
      },
      { timeout: 20000, interval: 100, what: "media-reconnect-start for alice's own media and for bob's" },
    );
    const noticedMs = Date.now() - cutAt;
    await waitFor(
      async () => {
        const uids = await reconnectUids('media-reconnect-end');
        return uids.includes(aliceUid) && uids.includes(bobUid);
      },
      { timeout: 30000, interval: 100, what: 'media-reconnect-end for both over the new path' },
    );
    const backMs = Date.now() - cutAt;
    await framesGrowAgain(alice, bobUid, bob, aliceUid);
    const [aliceSees, bobSees] = await Promise.all([
      expectRemoteVideo(alice, bobUid, { what: 'alice receiving bob over the new path' }),
      expectRemoteVideo(bob, aliceUid, { what: 'bob receiving alice over the new path' }),
    ]);
    const carried = newPath.reduce((sum, relay) => sum + relay.forwarded, 0);
    assert(carried > 100, `the new path carries alice's media (${carried} datagrams)`);
    const { peerConnections } = await stateOf(alice);
    assert(peerConnections === 2, `the same two transports were restarted, yet alice made ${peerConnections}`);
    const bobSaw = (await stateOf(bob)).events.filter((e) => e.uid === aliceUid).map((e) => e.name);
    assert(!bobSaw.includes('user-left'), `alice's session survived; bob saw ${bobSaw.join(', ')}`);
    ctx.log.push(
      `old path cut for good; media-reconnect-start after ${noticedMs} ms, -end after ${backMs} ms over the new ` +
        `path (${carried} datagrams so far); frames after: alice ${aliceSees.frames}, bob ${bobSees.frames}`,
    );
  } finally {
    for (const relay of [...oldPath, ...newPath]) relay.close();
  }
}

/**
 * Two copies of pages/agora-sample.html (Agora's basic video call sample, script tag changed) join with the form and
 * must play each other's video. With `sdkUrl`, the page comes from the harness's front (its own origin) and the
 * script tag points at the server's absolute URL, as an app hosted elsewhere would use Stoa.
 */
async function agoraSample(ctx, { sdkUrl }) {
  const { server } = ctx;
  const channel = freshChannel('sample');
  const query = sdkUrl ? `?sdk=${encodeURIComponent(sdkUrl)}` : '';
  const pages = [];
  for (let i = 0; i < 2; i += 1) {
    const context = ctx.track(await openContext(ctx.browser, ctx.origin));
    const page = await context.newPage();
    await page.goto(`${ctx.origin}/__test__/agora-sample.html${query}`);
    await page.fill('#appid', server.appId);
    await page.fill('#channel', channel);
    await page.click('#join');
    await page.waitForSelector('#local-player video', { timeout: 20000 }).catch(async () => {
      const log = await page.evaluate(() => window.sampleLog).catch(() => []);
      const cors = context.logs.find((line) => line.includes('CORS'));
      throw new Error(`the sample page did not join within 20 s; its log: ${log.join(' | ').split('\n')[0] || 'empty'}${cors ? `\nfirst CORS error: ${cors}` : ''}`);
    });
    pages.push(page);
  }
  for (const page of pages) {
    const remote = await waitFor(
      () =>
        page.evaluate(() => {
          const video = document.querySelector('#remote-playerlist video');
          return video && video.videoWidth > 0 ? { width: video.videoWidth, height: video.videoHeight } : false;
        }),
      { timeout: 25000, what: 'the sample page to play the remote video' },
    );
    assert(remote.width === VIDEO.width && remote.height === VIDEO.height, `sample page remote video is ${remote.width}x${remote.height}`);
    const log = await page.evaluate(() => window.sampleLog);
    assert(!log.some((line) => line.startsWith('error')), `the sample page logged errors: ${log.join(' | ')}`);
  }
  await pages[0].click('#leave');
}

/**
 * Alice reaches the server through a front of her own, which drops her sockets (and, with `downMs`, refuses new ones for
 * that long). Her page must go RECONNECTING then CONNECTED with no call from the application, and video must flow
 * both ways afterwards.
 */
async function reconnection(ctx, { downMs }) {
  const { server } = ctx;
  const relay = await Front.start(server.port);
  try {
    const channel = freshChannel('reconnect');
    const alice = await harnessPage(ctx, relay.url);
    const bob = await harnessPage(ctx);
    const aliceUid = await joinAndPublish(alice, server.appId, channel);
    const bobUid = await joinAndPublish(bob, server.appId, channel);
    await Promise.all([expectRemoteVideo(alice, bobUid), expectRemoteVideo(bob, aliceUid)]);
    const before = await stateOf(alice);

    relay.refuse(downMs > 0);
    relay.cut();
    await waitFor(async () => (await stateOf(alice)).states.includes('RECONNECTING'), {
      timeout: 10000,
      what: 'alice to report RECONNECTING after her socket was cut',
    });
    if (downMs > 0) {
      await sleep(downMs);
      relay.refuse(false);
    }
    const after = await waitFor(
      async () => {
        const state = await stateOf(alice);
        const i = state.states.lastIndexOf('RECONNECTING');
        return i >= 0 && state.states.slice(i + 1).includes('CONNECTED') && state.connectionState === 'CONNECTED' ? state : false;
      },
      { timeout: 20000, what: 'alice to go from RECONNECTING back to CONNECTED' },
    );
    assert(
      !after.states.slice(after.states.lastIndexOf('RECONNECTING')).includes('DISCONNECTED'),
      `alice went DISCONNECTED while reconnecting: ${after.states.join(' -> ')}`,
    );
    // Media after the reconnection: frames keep arriving on both sides (the decoded-frame counters must grow).
    const [aliceSees, bobSees] = await Promise.all([
      expectRemoteVideo(alice, bobUid, { what: 'alice, after reconnecting, receiving bob' }),
      expectRemoteVideo(bob, aliceUid, { what: 'bob receiving alice after her reconnection' }),
    ]);
    const bobEvents = (await stateOf(bob)).events.map((e) => `${e.name}${e.detail ? `(${e.detail})` : ''}`);
    // While the link was down the SDK rated the network 6 (down) both ways, as Agora does.
    const qualities = after.qualities.map(([up, down]) => `${up}${down}`);
    if (downMs > 0) assert(qualities.includes('66'), `no network-quality of 6 (down) during the outage: ${qualities.join(' ')}`);
    if (downMs > 0) {
      // Proof that the outage outlived the session: the server timed alice out, so her media had to be published
      // and subscribed again, by the SDK alone.
      assert(bobEvents.includes('user-left(ServerTimeOut)'), `bob never saw alice time out: ${bobEvents.join(', ')}`);
    }
    ctx.log.push(
      `alice states: ${after.states.join(' -> ')}; relay connections accepted: ${relay.accepted}; ` +
        `alice subscribe calls ${before.subscribeCalls} -> ${after.subscribeCalls}; bob saw: ${bobEvents.join(', ')}; ` +
        `frames after: alice ${aliceSees.frames}, bob ${bobSees.frames}`,
    );
  } finally {
    await relay.stop();
  }
}

/**
 * `stoa join` (the Rust SDK) publishes a sine and records what it receives; the page publishes the fake camera. The
 * page must hear the sine at its frequency, and the Rust side must decode the page's video at the camera's size.
 */
async function interopWithRustSdk(ctx) {
  const missing = await stoaJoinMissing();
  if (missing) ctx.skip(`\`stoa join\` is not available in ${STOA_BIN}: ${missing}`);
  const { server } = ctx;
  const channel = freshChannel('interop');
  const sineHz = 880;
  const rustSize = { width: 320, height: 240 };
  const record = await mkdtemp(path.join(os.tmpdir(), 'stoa-join-'));
  let rust = null;
  try {
    const page = await harnessPage(ctx);
    const pageUid = await joinAndPublish(page, server.appId, channel);
    rust = runStoaJoin([
      '--server', server.url, '--app-id', server.appId, '--channel', channel, '--audio', `sine:${sineHz}`,
      '--video', `testsrc:${rustSize.width}x${rustSize.height}@15`, '--record', record, '--duration', '12',
    ]);
    const rustUid = await waitFor(async () => (await stateOf(page)).remoteUsers.find((u) => u.hasAudio)?.uid ?? false, {
      timeout: 25000,
      what: 'the Rust SDK user to publish audio',
    });
    const heard = await expectRemoteTone(page, rustUid, { hz: sineHz, what: 'the Rust SDK sine' });
    const seen = await expectRemoteVideo(page, rustUid, { what: 'the Rust SDK video', size: rustSize }).catch((error) => error);
    const { code, stdout } = await withTimeout(rust.done, 30000, 'stoa join to leave after its duration');
    assert(code === 0, `stoa join exited with ${code}`);
    const summary = JSON.parse(stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}');
    const files = await readdir(record);
    const videoFile = files.find((f) => f === `${pageUid}.video.json`);
    assert(videoFile, `stoa join recorded no ${pageUid}.video.json (files: ${files.join(', ')}; summary ${JSON.stringify(summary)})`);
    // `stoa join --record` writes {frames_decoded, width, height, first_frame_ms} per remote user.
    const video = JSON.parse(await readFile(path.join(record, videoFile), 'utf8'));
    const { width, height, frames_decoded: frames } = video;
    assert(width === VIDEO.width && height === VIDEO.height, `the Rust SDK decoded the page's video at ${width}x${height}: ${JSON.stringify(video)}`);
    assert(frames > 10, `the Rust SDK decoded only ${frames} frames of the page's video`);
    ctx.log.push(`page hears the Rust sine at ${heard.peakHz.toFixed(0)} Hz (rms ${heard.rms.toFixed(3)}); Rust decodes ${width}x${height}, ${frames} frames`);
    const pageAudio = summary.remote_users?.[String(pageUid)]?.audio;
    if (pageAudio) ctx.log.push(`Rust hears the page at ${pageAudio.dominant_hz} Hz (${pageAudio.frames} frames)`);
    // Video from Rust to the page is beyond the issue's list; report it without failing on it.
    if (seen instanceof Error) ctx.log.push(`note: page did not decode the Rust SDK's video: ${seen.message.split('\n')[0]}`);
    else ctx.log.push(`page decodes the Rust SDK's ${seen.width}x${seen.height} test pattern`);
  } catch (error) {
    if (rust) error.message += `\nstoa join output:\n${rust.output().slice(-1500)}`;
    throw error;
  } finally {
    rust?.kill();
    await rm(record, { recursive: true, force: true });
  }
}

/** `stoa join ARGS` as a child whose output is kept; `done` resolves with its exit code and stdout. */
function runStoaJoin(args) {
  const child = spawn(STOA_BIN, ['join', ...args], {
    env: { ...process.env, STOA_LOG: process.env.STOA_TEST_LOG ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const done = new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
  return {
    done,
    output: () => `${stderr}${stdout}`,
    kill: () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'),
  };
}

/**
 * Two tabs on the demo page at `/`: join, publish microphone and camera, see each other in the remote grid. The first
 * tab's screenshot is docs/demo.png (with STOA_BLESS=1).
 */
/** Two demo tabs (uids 1001 and 1002) in a fresh channel, joined and publishing, each showing the other's video. */
async function demoTabs(ctx, channel) {
  const { server } = ctx;
  const tabs = [];
  for (const name of ['tab-one', 'tab-two']) {
    const context = ctx.track(await openContext(ctx.browser, server.url));
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    const appId = await page.inputValue('#app-id');
    assert(appId === server.appId, `the demo's app id field holds ${JSON.stringify(appId)}, not the dev app ${server.appId}`);
    await page.fill('#channel', channel);
    await page.fill('#uid', name === 'tab-one' ? '1001' : '1002');
    // Join without the automatic start, then publish with the buttons, as a person clicking through would.
    await page.uncheck('#auto-publish');
    await page.click('#join');
    await page.waitForSelector('body[data-state="CONNECTED"]', { timeout: 15000 });
    await page.click('#toggle-mic');
    await page.click('#toggle-camera');
    await page.waitForSelector('#local-player video', { timeout: 15000 });
    await page.waitForSelector('#toggle-camera.on:not([disabled])', { timeout: 15000 });
    tabs.push(page);
  }
  for (const [page, remote] of [
    [tabs[0], 1002],
    [tabs[1], 1001],
  ]) {
    await waitFor(
      () =>
        page.evaluate((uid) => {
          const video = document.querySelector(`#remote-${uid} video`);
          return video && video.videoWidth > 0 && video.currentTime > 0.5;
        }, remote),
      { timeout: 25000, what: `the demo page to show remote user ${remote}'s video` },
    );
  }
  return tabs;
}

async function demoCall(ctx) {
  const { server } = ctx;
  const channel = freshChannel('demo');
  const tabs = await demoTabs(ctx, channel);
  const errors = await tabs[0].locator('#errors li').allInnerTexts();
  assert(errors.length === 0, `the demo page shows errors: ${errors.join(' | ')}`);

  // A third tab that takes a uid already in the call sees the code and the catalog's handling advice.
  const context = ctx.track(await openContext(ctx.browser, server.url));
  const third = await context.newPage();
  await third.goto(`${server.url}/`);
  await third.uncheck('#auto-publish');
  await third.fill('#channel', channel);
  await third.fill('#uid', '1001');
  await third.click('#join');
  const problem = third.locator('#errors li').first();
  await problem.waitFor({ timeout: 15000 });
  const shown = await problem.innerText();
  const catalogAdvice = await third.evaluate(() => window.AgoraRTC.ERROR_CATALOG?.UID_CONFLICT?.advice ?? null);
  assert(shown.includes('UID_CONFLICT'), `the demo shows ${JSON.stringify(shown)} for a taken uid, not UID_CONFLICT`);
  assert(catalogAdvice && shown.includes(catalogAdvice), `the demo's message ${JSON.stringify(shown)} lacks the catalog's advice ${JSON.stringify(catalogAdvice)}`);
  assert((await third.getAttribute('body', 'data-state')) === 'DISCONNECTED', 'the refused tab is not back to DISCONNECTED');

  await sleep(500);
  // docs/demo.png changes only on request (STOA_BLESS=1, as for the project's other generated files), so a test run
  // leaves the tree clean; otherwise the screenshot goes to the temporary folder.
  const shot = process.env.STOA_BLESS ? path.join(REPO, 'docs/demo.png') : path.join(os.tmpdir(), 'stoa-demo.png');
  await tabs[0].screenshot({ path: shot, fullPage: true });
  await tabs[0].click('#leave');
  await tabs[0].waitForSelector('body[data-state="DISCONNECTED"]', { timeout: 10000 });
  ctx.log.push(`screenshot saved to ${shot}`);
}

/** The demo's Share screen button: the others see the screen instead of the camera, then the camera again. */
async function demoScreenShare(ctx) {
  const tabs = await demoTabs(ctx, freshChannel('screen'));
  const remoteSize = () =>
    tabs[1].evaluate(() => {
      const video = document.querySelector('#remote-1001 video');
      return video ? `${video.videoWidth}x${video.videoHeight}` : 'none';
    });
  const cameraSize = `${VIDEO.width}x${VIDEO.height}`;
  await tabs[0].click('#toggle-screen');
  const screenSize = await waitFor(async () => {
    const size = await remoteSize();
    return /^[1-9]\d*x[1-9]\d*$/.test(size) && size !== cameraSize ? size : false;
  }, {
    timeout: 20000,
    what: 'the other tab to show the shared screen instead of the camera',
  });
  await tabs[0].click('#toggle-screen');
  await waitFor(async () => (await remoteSize()) === cameraSize, { timeout: 20000, what: 'the camera to come back after sharing' }).catch(
    async (error) => {
      const seen = await tabs[1].locator('#errors li').allInnerTexts();
      // Every <video> of the sender's tile (size, frames shown, whether it plays), for the failure report.
      const videos = await tabs[1].evaluate(() =>
        [...document.querySelectorAll('#remote-1001 video')].map(
          (v) => `${v.videoWidth}x${v.videoHeight} frames ${v.getVideoPlaybackQuality?.().totalVideoFrames} ${v.paused ? 'paused' : 'playing'}`,
        ),
      );
      const sender = await tabs[0].locator('#errors li').allInnerTexts();
      throw new Error(
        `${error.message}\nthe receiving tab shows: ${seen.join(' | ') || 'no errors'}; its videos of the sender: ` +
          `${videos.join(' / ') || 'none'}; the sending tab shows: ${sender.join(' | ') || 'no errors'}`,
      );
    },
  );
  ctx.log.push(`screen share seen by the other tab at ${screenSize}`);

  const errors = await tabs[0].locator('#errors li').allInnerTexts();
  assert(errors.length === 0, `the sharing tab shows errors: ${errors.join(' | ')}`);
}
