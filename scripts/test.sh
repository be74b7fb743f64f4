#!/usr/bin/env bash
# Stoa's whole test suite, for a fresh machine of the project's kind: installs what it needs (Debian's libopus and
# pkg-config, Node.js when missing, the npm packages of the agora-token cross-check, Chromium and ffmpeg for the
# browser tests, cargo-fuzz), then checks formatting and lints, runs every workspace test, the Web SDK's checks and
# its browser acceptance tests in headless Chromium (web/tests/browser), and a short fuzz run of each fuzz target.
# FUZZ_SECONDS sets the fuzz time per target (default 20; 0 skips).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# A fresh machine builds once: incremental caches would only add gigabytes to a disk that CI machines keep small.
export CARGO_INCREMENTAL=0

step() { printf '\n== %s\n' "$*"; }

step "tools"
# Debian packages: libopus and libvpx (found through pkg-config) and nasm (OpenH264's assembly) for the SDK's
# codecs, and Node.js for the agora-token cross-check unless the machine already has node and npm (possibly from
# another source than Debian's). The server itself needs none of them: only the SDK links the codecs.
missing=()
# Chromium (Debian's; playwright-core drives it, never downloads one) and ffmpeg (the fake camera and microphone
# files) for the browser tests.
# libasound2-dev for the SDK's optional microphone and speaker support (feature stoa-sdk/devices, cpal over ALSA).
for package in libopus-dev libvpx-dev nasm pkg-config libasound2-dev chromium chromium-driver ffmpeg; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    missing+=(nodejs npm)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
node --version
npm ci --prefix crates/proto/tests/agora-token --no-audit --no-fund --loglevel=error
npm ci --prefix web --no-audit --no-fund --loglevel=error
npm ci --prefix web/tests/browser --no-audit --no-fund --loglevel=error

# Every optional feature is linted and tested: `stoa join` (stoa-server/bot, the Rust SDK on the command line) and
# the SDK's sound devices (stoa-sdk/devices). The same set everywhere, so cargo builds each crate once.
features=stoa-server/bot,stoa-sdk/devices

step "format"
cargo fmt --all -- --check

step "lints"
cargo clippy --workspace --all-targets --locked --features "$features" -- -D warnings

step "tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked --no-fail-fast --features "$features" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# The Web SDK: typecheck, unit tests and bundle staleness (web/package.json), then the acceptance tests in headless
# Chromium against the real server binary. The browser runner prints "browser tests: N passed, N failed, N skipped".
step "web sdk checks"
set +e
npm run --prefix web --silent check 2>&1 | tee -a "$log"
web_status=${PIPESTATUS[0]}
set -e
step "browser tests"
# The server binary is the one `cargo test` just built for the integration tests, with the same features (`bot`
# adds `stoa join` for the browser <-> Rust interop test). A separate `cargo build` would resolve features without
# the dev-dependencies and compile a second copy of many crates.
if [ ! -x target/debug/stoa ]; then
    echo "FAILED: target/debug/stoa was not built by cargo test"
    status=1
fi
set +e
# Nothing may be skipped here: the binary has every feature, so a skip would hide a broken build.
STOA_BROWSER_NO_SKIP=1 node web/tests/browser/run.mjs 2>&1 | tee -a "$log"
browser_status=${PIPESTATUS[0]}
set -e
if [ "$status" -eq 0 ] && { [ "$web_status" -ne 0 ] || [ "$browser_status" -ne 0 ]; }; then
    status=1
fi

fuzz_seconds=${FUZZ_SECONDS:-20}
if [ "$status" -eq 0 ] && [ "$fuzz_seconds" != 0 ]; then
    step "fuzz (${fuzz_seconds} s per target)"
    if cargo +nightly --version >/dev/null 2>&1; then
        FUZZ_SECONDS=$fuzz_seconds scripts/fuzz.sh
    else
        # cargo-fuzz needs nightly, which this machine's registries cannot provide: say so loudly.
        echo "WARNING: no nightly toolchain here: the fuzz targets were NOT run (scripts/fuzz.sh needs nightly)"
    fi
fi

# One closing line for the whole run, summed over every test binary and the browser suite.
# Cargo's "test result:" lines, the browser runner's line and vitest's "Tests  N passed" line.
passed=$(grep -E '^((test result|browser tests):|[[:space:]]*Tests[[:space:]]+[0-9])' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -E '^((test result|browser tests):|[[:space:]]*Tests[[:space:]]+[0-9])' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
if [ "$web_status" -ne 0 ]; then
    echo "FAILED: npm run check in web/ (typecheck, unit tests or a stale bundle; see above)"
fi
echo
echo "tests: $passed passed, $failed failed"
exit "$status"
