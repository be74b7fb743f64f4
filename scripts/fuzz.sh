#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/fuzz_targets/ for a bounded time each.
#
#   scripts/fuzz.sh                 # every target, FUZZ_SECONDS (default 30) each
#   FUZZ_SECONDS=300 scripts/fuzz.sh token_parse    # only the named targets
#
# Needs the nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz if it is missing. Extra
# libFuzzer flags can be passed in FUZZ_ARGS (e.g. FUZZ_ARGS="-jobs=2 -workers=2"). Corpora grow in
# fuzz/corpus/<target>/ and crashes land in fuzz/artifacts/<target>/ (both git-ignored). Exits non-zero as soon as a
# target finds a crash.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${FUZZ_SECONDS:-30}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: the nightly toolchain is required: rustup toolchain install nightly" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for file in fuzz/fuzz_targets/*.rs; do
        [ -e "$file" ] || continue
        targets+=("$(basename "$file" .rs)")
    done
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "fuzz.sh: no targets in fuzz/fuzz_targets" >&2
    exit 1
fi

for target in "${targets[@]}"; do
    echo "== fuzz target $target: ${seconds}s" >&2
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" ${FUZZ_ARGS:-}
done
echo "fuzz.sh: ${#targets[@]} target(s) ran ${seconds}s each without a crash" >&2
