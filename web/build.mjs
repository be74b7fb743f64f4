// Builds dist/stoa-rtc.js (UMD: window.AgoraRTC), dist/stoa-rtc.mjs (ESM, default export AgoraRTC) and
// dist/stoa-rtc.d.ts. `node build.mjs --check` builds in memory and fails when the committed dist differs, so the
// bundles that `stoa serve` embeds never go stale. The output depends only on the sources and the pinned esbuild.

import { build } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes("--check");
const banner = "/* Stoa Web SDK (agora-rtc-sdk-ng 4.x compatible). Apache-2.0. Built from web/src: do not edit. */";

const common = {
  bundle: true,
  minify: true,
  write: false,
  target: "es2020",
  platform: "browser",
  legalComments: "none",
  charset: "utf8",
  banner: { js: banner },
  logLevel: "warning",
};

async function bundle(entry, format) {
  const result = await build({
    ...common,
    entryPoints: [join(root, entry)],
    format,
    define: { __STOA_FORMAT__: JSON.stringify(format === "esm" ? "esm" : "umd") },
    ...(format === "iife" ? { supported: { "import-meta": false } } : {}),
  });
  return result.outputFiles[0].text;
}

/** The public types: the generated error codes, then src/types.ts, then the exported values. */
function declarations() {
  const errors = readFileSync(join(root, "src/generated/errors.ts"), "utf8");
  const members = [...errors.matchAll(/^  ([A-Z0-9_]+): "([A-Z0-9_]+)",$/gm)];
  if (members.length !== 96) throw new Error(`expected 96 error codes in src/generated/errors.ts, found ${members.length}`);
  const types = readFileSync(join(root, "src/types.ts"), "utf8");
  const union = [...new Set(members.map((m) => `"${m[2]}"`))].join("\n  | ");
  const enumObject = members.map((m) => `  readonly ${m[1]}: "${m[2]}";`).join("\n");
  return `${banner.replace("/*", "/**")}
// Types of agora-rtc-sdk-ng 4.x as Stoa implements them. The same file serves the UMD build (global AgoraRTC)
// and the ES module (default export).

/** The wire value of an AgoraRTCErrorCode member. */
export type AgoraRTCErrorCodeValue =
  | ${union};

${types.trim()}

/** AgoraRTCErrorCode: member name to value (CROSS_CHANNEL_FAILED_JOIN_SRC keeps Agora's value "...SEC"). */
export declare const AgoraRTCErrorCode: {
${enumObject}
};
export type AgoraRTCErrorCode = AgoraRTCErrorCodeValue;

/** AgoraRTCError: name "AgoraRTCException", message "AgoraRTCError CODE: detail". */
export declare class AgoraRTCError extends Error implements IAgoraRTCError {
  readonly name: "AgoraRTCException";
  readonly code: AgoraRTCErrorCodeValue;
  readonly data?: unknown;
  constructor(code: AgoraRTCErrorCodeValue, message?: string, data?: unknown);
  toString(): string;
  print(level?: "error" | "warning"): this;
  throw(): never;
  /** Stoa: the catalog's description and handling advice for this code. */
  readonly info: ErrorCodeInfo;
}

export interface ErrorCodeInfo {
  description: string;
  advice: string;
  category: string;
  raised: "now" | "planned" | "never";
}

export declare const ConnectionDisconnectedReason: { readonly [K in ConnectionDisconnectedReasonValue]: K };
export declare const VERSION: string;

/** The AgoraRTC object, with Stoa's extras (the error catalog). */
export interface IStoaRTC extends IAgoraRTC {
  readonly STOA_VERSION: string;
  readonly AgoraRTCErrorCode: typeof AgoraRTCErrorCode;
  readonly AgoraRTCError: typeof AgoraRTCError;
  readonly ERROR_CATALOG: Record<AgoraRTCErrorCodeValue, ErrorCodeInfo>;
  readonly ConnectionDisconnectedReason: typeof ConnectionDisconnectedReason;
}

declare const AgoraRTC: IStoaRTC;
export default AgoraRTC;
`;
}

const outputs = {
  "dist/stoa-rtc.js": await bundle("src/umd.ts", "iife"),
  "dist/stoa-rtc.mjs": await bundle("src/index.ts", "esm"),
  "dist/stoa-rtc.d.ts": declarations(),
};

let stale = [];
for (const [path, text] of Object.entries(outputs)) {
  const full = join(root, path);
  if (check) {
    let current = "";
    try {
      current = readFileSync(full, "utf8");
    } catch {
      // Missing counts as stale.
    }
    if (current !== text) stale.push(path);
  } else {
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, text);
  }
}

const umd = outputs["dist/stoa-rtc.js"];
const gzip = gzipSync(Buffer.from(umd), { level: 9 }).length;
console.log(`stoa-rtc.js: ${umd.length} bytes, ${gzip} bytes gzip (level 9)`);
if (stale.length > 0) {
  console.error(`stale: ${stale.join(", ")} differ from a fresh build; run \`npm run build\` in web/ and commit dist/`);
  process.exit(1);
}
