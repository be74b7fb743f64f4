// The pieces every browser test uses: a real `stoa serve` on loopback ports, a TCP relay that can cut the page's
// connections, known-content fake media made with ffmpeg, one headless Debian Chromium, and test pages served on a
// loopback origin in front of the server (so the SDK talks to the server that served its bundle, as in production).
import { spawn, execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtemp, readFile, writeFile, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const execFileAsync = promisify(execFile);
export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '../../..');
export const STOA_BIN = process.env.STOA_BIN ?? path.join(REPO, 'target/debug/stoa');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

// The fake camera and microphone play these files, so tests know what the remote side must decode.
export const VIDEO = { width: 640, height: 480, fps: 15 };
export const TONE_HZ = 440;

// Short session timeouts so the reconnection test does not wait for production values (like the Rust tests).
const FAST_CONFIG = `
[timeouts]
session_timeout_ms = 1500
keepalive_ms = 200
token_will_expire_lead_ms = 2000
`;

/** Rejects after `ms` with a message naming what was awaited. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a truthy value; the last value is in the error when time runs out. */
export async function waitFor(probe, { timeout = 15000, interval = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last && (typeof last !== 'object' || last.ok !== false)) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    }
    await sleep(interval);
  }
}

/** A `stoa serve` child on 127.0.0.1 ephemeral ports with a fresh data folder. */
export class StoaServer {
  static async start() {
    if (!existsSync(STOA_BIN)) throw new Error(`${STOA_BIN} is missing: run cargo build -p stoa-server first`);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'stoa-browser-'));
    const config = path.join(dir, 'config.toml');
    await writeFile(config, FAST_CONFIG);
    const child = spawn(
      STOA_BIN,
      ['serve', '--http', '127.0.0.1:0', '--udp', '127.0.0.1:0', '--data', path.join(dir, 'data'), '--config', config],
      { env: { ...process.env, STOA_LOG: process.env.STOA_TEST_LOG ?? 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const server = new StoaServer(child, dir);
    const lines = createInterface({ input: child.stdout });
    await withTimeout(
      new Promise((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`stoa serve exited with ${code} before listening`)));
        lines.on('line', (line) => {
          if (line.startsWith('app id: ') && !server.appId) server.appId = line.slice('app id: '.length).trim();
          // "media: udp://127.0.0.1:P1 udp://127.0.0.1:P2": one UDP port per media worker.
          if (line.startsWith('media: ')) server.mediaPorts = [...line.matchAll(/:(\d+)/g)].map((m) => Number(m[1]));
          if (line.startsWith('listening: ')) {
            server.url = line.slice('listening: '.length).trim();
            resolve();
          }
        });
      }),
      15000,
      'stoa serve to print its address',
    );
    const { port } = new URL(server.url);
    server.port = Number(port);
    return server;
  }

  constructor(child, dir) {
    this.child = child;
    this.dir = dir;
    this.appId = '';
    this.url = '';
    this.port = 0;
    this.mediaPorts = [];
  }

  get alive() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop() {
    if (this.alive) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGKILL');
      await withTimeout(exited, 5000, 'stoa serve to exit').catch(() => {});
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * An HTTP front on 127.0.0.1 in front of the server: it answers `/__test__/<file>` with the test pages of ./pages and
 * passes every other request, and the WebSocket upgrade, through to `stoa serve`. Pages therefore load from a real
 * loopback origin (Chromium's local-network checks treat intercepted responses as public, and then block the
 * WebSocket to 127.0.0.1), and the SDK talks to the server that served its bundle through the front (discovery
 * answers with the Host the page used). `cut()` resets every connection, like a network failure, and `refuse(true)`
 * keeps the network down. Media goes to the server's UDP port directly.
 */
export class Front {
  static async start(targetPort) {
    const front = new Front(targetPort);
    await new Promise((resolve) => front.server.listen(0, '127.0.0.1', resolve));
    front.port = front.server.address().port;
    front.url = `http://127.0.0.1:${front.port}`;
    return front;
  }

  constructor(targetPort) {
    this.targetPort = targetPort;
    this.refusing = false;
    this.sockets = new Set();
    this.accepted = 0;
    this.server = http.createServer((request, response) => this.handle(request, response));
    this.server.on('connection', (socket) => {
      this.accepted += 1;
      if (this.refusing) {
        socket.destroy();
        return;
      }
      this.keep(socket);
    });
    this.server.on('upgrade', (request, socket, head) => this.upgrade(request, socket, head));
  }

  keep(socket) {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
  }

  async handle(request, response) {
    const { pathname, searchParams } = new URL(request.url, 'http://front');
    if (pathname.startsWith('/__test__/')) {
      const name = path.basename(pathname);
      try {
        let body = await readFile(path.join(HERE, 'pages', name), 'utf8');
        // `?sdk=URL` loads the bundle from elsewhere: an app hosted on its own origin with Stoa's script tag.
        const sdk = searchParams.get('sdk');
        if (sdk) body = body.replace('src="/sdk/stoa-rtc.js"', `src="${encodeURI(sdk)}"`);
        const type = /\.m?js$/.test(name) ? 'text/javascript' : 'text/html; charset=utf-8';
        response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
      } catch {
        response.writeHead(404).end('no such test page');
      }
      return;
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: this.targetPort, method: request.method, path: request.url, headers: request.headers, agent: false },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('socket', (socket) => this.keep(socket));
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  }

  upgrade(request, socket, head) {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    this.keep(upstream);
    this.keep(socket);
    const lines = [`${request.method} ${request.url} HTTP/1.1`];
    for (let i = 0; i < request.rawHeaders.length; i += 2) lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head?.length) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
    upstream.on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
  }

  /** Resets every connection through the front, both directions. */
  cut() {
    for (const socket of this.sockets) {
      if (socket.resetAndDestroy) socket.resetAndDestroy();
      else socket.destroy();
    }
    this.sockets.clear();
  }

  refuse(on) {
    this.refusing = on;
  }

  async stop() {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Makes (once) the y4m and wav files the fake devices play: a moving test pattern and a steady tone. */
export async function makeFakeMedia(dir) {
  const video = path.join(dir, `testsrc-${VIDEO.width}x${VIDEO.height}.y4m`);
  const audio = path.join(dir, `tone-${TONE_HZ}-half-scale.wav`);
  const ffmpeg = ['-hide_banner', '-loglevel', 'error', '-y'];
  if (!(await exists(video))) {
    await execFileAsync('ffmpeg', [
      ...ffmpeg,
      '-f', 'lavfi', '-i', `testsrc=size=${VIDEO.width}x${VIDEO.height}:rate=${VIDEO.fps}`,
      '-t', '2', '-pix_fmt', 'yuv420p', video,
    ]);
  }
  if (!(await exists(audio))) {
    await execFileAsync('ffmpeg', [
      ...ffmpeg,
      // Loud (half scale): the microphone's noise suppression and gain control take a good part of a steady tone.
      '-f', 'lavfi', '-i', `aevalsrc=0.5*sin(2*PI*${TONE_HZ}*t):s=48000:d=5`,
      '-ac', '1', audio,
    ]);
  }
  return { video, audio };
}

async function exists(file) {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

export const BASE_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
  // Loopback peers only: without this, host candidates would be mDNS names when media permission is not granted.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

/** Headless Debian Chromium. `fakeUi` auto-accepts permission prompts; without it, prompts are refused. */
export async function launchChromium({ media, fakeUi = true } = {}) {
  const args = [...BASE_ARGS];
  if (fakeUi) args.push('--use-fake-ui-for-media-stream');
  if (media) {
    args.push(`--use-file-for-fake-video-capture=${media.video}`, `--use-file-for-fake-audio-capture=${media.audio}`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args, timeout: 30000 });
}

/**
 * A UDP relay in front of one of the server's media ports, for pages whose candidates are rewritten to it (the
 * harness's `relayMedia`). Each client address gets its own upstream socket, so the server sees one peer per client.
 * `cut()` drops every datagram both ways until `restore()`: a media path lost while signalling stays up.
 */
export class UdpRelay {
  static async start(targetPort) {
    const relay = new UdpRelay(targetPort);
    await new Promise((resolve) => relay.socket.bind(0, '127.0.0.1', resolve));
    relay.port = relay.socket.address().port;
    return relay;
  }

  constructor(targetPort) {
    this.targetPort = targetPort;
    this.socket = dgram.createSocket('udp4');
    this.upstreams = new Map();
    this.dropping = false;
    this.dropped = 0;
    this.forwarded = 0;
    this.socket.on('message', (message, from) => this.fromClient(message, from));
  }

  fromClient(message, from) {
    if (this.dropping) {
      this.dropped += 1;
      return;
    }
    const key = `${from.address}:${from.port}`;
    let upstream = this.upstreams.get(key);
    if (!upstream) {
      upstream = dgram.createSocket('udp4');
      upstream.bind(0, '127.0.0.1');
      upstream.on('message', (reply) => {
        if (this.dropping) this.dropped += 1;
        else this.socket.send(reply, from.port, from.address);
      });
      this.upstreams.set(key, upstream);
    }
    this.forwarded += 1;
    upstream.send(message, this.targetPort, '127.0.0.1');
  }

  cut() {
    this.dropping = true;
  }

  restore() {
    this.dropping = false;
  }

  close() {
    for (const upstream of this.upstreams.values()) upstream.close();
    this.socket.close();
  }
}

/** Every RTCPeerConnection a page creates, so tests can read the browser's own stats (codec, frames decoded). */
const RECORD_PEER_CONNECTIONS = () => {
  const Native = window.RTCPeerConnection;
  window.__peerConnections = [];
  window.__rejectedDescriptions = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.__peerConnections.push(this);
    }

    // A description the browser refuses is kept for the failure report (the SDP says what was wrong). With
    // `window.__mediaPortMap` ({server port: relay port}) the server's candidates point at a UDP relay instead.
    async setRemoteDescription(description) {
      const ports = window.__mediaPortMap;
      if (ports && description?.sdp) {
        const sdp = description.sdp.replace(
          /^(a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 )(\d+)/gim,
          (line, head, port) => (ports[port] ? `${head}${ports[port]}` : line),
        );
        description = { type: description.type, sdp };
      }
      try {
        return await super.setRemoteDescription(description);
      } catch (error) {
        window.__rejectedDescriptions.push({ error: String(error), sdp: description?.sdp ?? null });
        throw error;
      }
    }
  };
};

/**
 * A browser context that records its pages' peer connections and collects their console errors and page errors for
 * the failure report.
 */
export async function openContext(browser, origin, { permissions } = {}) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  if (permissions) await context.grantPermissions(permissions, { origin });
  await context.addInitScript(RECORD_PEER_CONNECTIONS);
  context.logs = [];
  context.on('page', (page) => watchPage(page, context.logs));
  return context;
}

function watchPage(page, logs) {
  const tag = () => page.url().split('/').pop();
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') logs.push(`[${tag()} ${message.type()}] ${message.text()}`);
  });
  page.on('pageerror', (error) => logs.push(`[${tag()} pageerror] ${error.message}`));
}

/** Opens a test page (served by a Front at `origin`) and checks that the SDK bundle defined AgoraRTC. */
export async function openTestPage(context, origin, file = 'harness.html') {
  const page = await context.newPage();
  await page.goto(`${origin}/__test__/${file}`, { waitUntil: 'load', timeout: 15000 });
  // The harness script defines `window.t`; a module page adds it after the module ran.
  await page.waitForFunction(() => typeof window.t === 'object', null, { timeout: 10000 }).catch(() => {});
  const sdk = await page.evaluate(() => ({
    hasAgoraRTC: typeof window.AgoraRTC === 'object' && window.AgoraRTC !== null,
    version: window.AgoraRTC?.VERSION ?? null,
  }));
  if (!sdk.hasAgoraRTC) {
    throw new Error(`window.AgoraRTC is missing: the SDK bundle did not load or did not define AgoraRTC (${file})`);
  }
  if (!(await page.evaluate(() => typeof window.t === 'object'))) throw new Error(`the harness script did not load in ${file}`);
  return page;
}

/** Runs `t.<method>(...args)` of the harness page; a rejected AgoraRTCError comes back as {error: {code, message}}. */
export async function call(page, method, ...args) {
  return page.evaluate(
    async ([name, params]) => {
      try {
        return { value: await window.t[name](...params) };
      } catch (error) {
        return { error: { code: error?.code ?? null, name: error?.name ?? null, message: String(error?.message ?? error) } };
      }
    },
    [method, args],
  );
}

/** Like `call`, but a failure throws with the page's error. */
export async function must(page, method, ...args) {
  const result = await call(page, method, ...args);
  if (result.error) throw new Error(`t.${method}(${args.map((a) => JSON.stringify(a)).join(', ')}) failed: ${result.error.message}`);
  return result.value;
}

/** Asserts that `t.<method>(...args)` rejects with an AgoraRTCError of exactly `code`. */
export async function expectCode(page, code, method, ...args) {
  const result = await call(page, method, ...args);
  if (!result.error) throw new Error(`t.${method} should fail with ${code} but succeeded with ${JSON.stringify(result.value)}`);
  if (result.error.code !== code) {
    throw new Error(`t.${method} should fail with ${code} but failed with code ${result.error.code}: ${result.error.message}`);
  }
  return result.error;
}

/**
 * Whether this `stoa` build has `join` (the Rust SDK on the command line; cargo feature `bot`). Builds without it
 * print "`stoa join` is not in this build"; older ones do not know the subcommand. Returns null when it is there,
 * else the reason. The probe points at a closed port and is stopped after 3 s: a real `join` never gets far.
 */
export async function stoaJoinMissing() {
  const probe = ['join', '--server', 'http://127.0.0.1:9', '--app-id', '0'.repeat(32), '--channel', 'probe', '--duration', '1'];
  const stderr = await execFileAsync(STOA_BIN, probe, { timeout: 3000 }).then(
    (result) => result.stderr,
    (error) => String(error.stderr ?? ''),
  );
  if (/not in this build|unrecognized subcommand/.test(stderr)) return stderr.trim().split('\n')[0];
  return null;
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}
