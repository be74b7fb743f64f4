#!/usr/bin/env node
// A tiny runner for the browser acceptance tests: one `stoa serve` and one Chromium for the whole suite, each test
// in its own browser contexts and channel, bounded in time. It prints a line per test and a closing summary line,
//   browser tests: N passed, N failed, N skipped
// which scripts/test.sh adds to the suite's total. The exit status is 1 when any test failed.
// Usage: node run.mjs [name filter...]   (STOA_BIN and CHROMIUM override the binaries' paths; STOA_BROWSER_NO_SKIP=1
// turns skips into failures.)
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Front, StoaServer, launchChromium, makeFakeMedia, withTimeout } from './harness.mjs';
import { tests } from './tests.mjs';

class Skip extends Error {}

const filters = process.argv.slice(2);
const selected = tests.filter((test) => filters.length === 0 || filters.some((f) => test.name.includes(f)));
const SUITE_BUDGET_MS = 8 * 60 * 1000;

const mediaDir = path.join(os.tmpdir(), 'stoa-browser-media');
await mkdir(mediaDir, { recursive: true });

const results = { passed: 0, failed: 0, skipped: 0 };
const suiteStart = Date.now();
let server;
let front;
let browser;
const browsers = new Set();

async function cleanup() {
  for (const b of browsers) await b.close().catch(() => {});
  browsers.clear();
  await front?.stop().catch(() => {});
  await server?.stop().catch(() => {});
}
// A test that timed out may still have page calls in flight; their failures must not end the run.
process.on('unhandledRejection', (error) => console.log(`        (late failure after a test ended: ${error?.message ?? error})`));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await cleanup();
    process.exit(130);
  });
}

try {
  const media = await makeFakeMedia(mediaDir);
  server = await StoaServer.start();
  front = await Front.start(server.port);
  browser = await launchChromium({ media });
  browsers.add(browser);
  console.log(`stoa serve at ${server.url} (dev app ${server.appId}); ${browser.version ? `Chromium ${browser.version()}` : ''}`);

  for (const test of selected) {
    const started = Date.now();
    const contexts = [];
    const extraBrowsers = [];
    const ctx = {
      server,
      // Test pages load from here: `${origin}/__test__/<file>`, everything else passes through to the server.
      origin: front.url,
      browser,
      media,
      contexts,
      // STOA_BROWSER_NO_SKIP=1 (scripts/test.sh) makes a skip a failure: CI must run every test.
      skip(reason) {
        if (process.env.STOA_BROWSER_NO_SKIP === '1') throw new Error(`would skip, but STOA_BROWSER_NO_SKIP=1: ${reason}`);
        throw new Skip(reason);
      },
      // Contexts and extra browsers opened through ctx are closed after the test, pass or fail.
      track(context) {
        contexts.push(context);
        return context;
      },
      async launch(options) {
        const extra = await launchChromium(options);
        extraBrowsers.push(extra);
        browsers.add(extra);
        return extra;
      },
      log: [],
    };
    let outcome = 'pass';
    let detail = '';
    try {
      if (Date.now() - suiteStart > SUITE_BUDGET_MS) throw new Error('the suite ran out of its time budget');
      if (!server.alive) throw new Error('stoa serve is not running any more');
      await withTimeout(test.run(ctx), test.timeout ?? 60000, test.name);
    } catch (error) {
      if (error instanceof Skip) {
        outcome = 'skip';
        detail = error.message;
      } else {
        outcome = 'fail';
        detail = error?.stack ?? String(error);
      }
    }
    const logs = contexts.flatMap((c) => c.logs ?? []);
    for (const context of contexts) await context.close().catch(() => {});
    for (const extra of extraBrowsers) {
      await extra.close().catch(() => {});
      browsers.delete(extra);
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (outcome === 'pass') {
      results.passed += 1;
      console.log(`ok      ${test.name} (${seconds} s)${ctx.log.length ? `\n        ${ctx.log.join('\n        ')}` : ''}`);
    } else if (outcome === 'skip') {
      results.skipped += 1;
      console.log(`SKIPPED ${test.name}: ${detail}`);
    } else {
      results.failed += 1;
      console.log(`FAILED  ${test.name} (${seconds} s)\n        ${detail.split('\n').join('\n        ')}`);
      for (const line of ctx.log) console.log(`        note: ${line}`);
      for (const line of [...new Set(logs)].slice(-10)) console.log(`        console: ${line.slice(0, 400)}`);
    }
  }
} catch (error) {
  // The suite itself could not start (no binary, no Chromium, no ffmpeg): every selected test counts as failed.
  console.log(`FAILED  browser suite setup: ${error?.stack ?? error}`);
  results.failed += selected.length - results.passed - results.skipped - results.failed;
} finally {
  await cleanup();
}

const total = ((Date.now() - suiteStart) / 1000).toFixed(1);
console.log(`\nbrowser tests: ${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped (${total} s)`);
process.exit(results.failed > 0 ? 1 : 0);
