#!/usr/bin/env bash
# Builds tests/user-crate as a user's crate is built, and runs it: from a directory outside
# this repository (cargo reads .cargo/config.toml, with its target-cpu=native, from the
# directory it starts in and its parents), with cargo's default release profile and no
# RUSTFLAGS. With `--bench`, also builds examples/bench.rs the same way and runs it at each
# SIMD level (bench/levels.sh puts the figures beside the native build's).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -r "$ROOT/tests/user-crate/." "$WORK/"
sed -i "s|path = \"../..\"|path = \"$ROOT\"|" "$WORK/Cargo.toml"
if [[ "${1:-}" == --bench ]]; then
  mkdir -p "$WORK/src/bin"
  cp "$ROOT/examples/bench.rs" "$WORK/src/bin/bench.rs"
fi
export CARGO_TARGET_DIR=${USER_CRATE_TARGET:-$ROOT/target/user-crate}
unset RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
(cd "$WORK" && cargo build --release --bins)
"$CARGO_TARGET_DIR/release/stacknet-user-crate" "$ROOT/tests/fixtures"

# A plain `cargo build` (debug): training prints the note on unoptimised builds once, and
# STACKNET_NO_DEBUG_HINT silences it. The release build says nothing.
[[ "${1:-}" == --bench ]] && exit 0
(cd "$WORK" && cargo build --quiet)
DEBUG_BIN=$CARGO_TARGET_DIR/debug/stacknet-user-crate
hint='stacknet: this build is not optimised'
notes=$("$DEBUG_BIN" --hint 2>&1 >/dev/null | grep -c "$hint" || true)
[[ "$notes" == 1 ]] || { echo "FAIL: a debug build printed the note $notes times, not once"; exit 1; }
notes=$(STACKNET_NO_DEBUG_HINT=1 "$DEBUG_BIN" --hint 2>&1 >/dev/null | grep -c "$hint" || true)
[[ "$notes" == 0 ]] || { echo "FAIL: STACKNET_NO_DEBUG_HINT did not silence the note"; exit 1; }
notes=$("$CARGO_TARGET_DIR/release/stacknet-user-crate" --hint 2>&1 >/dev/null | grep -c "$hint" || true)
[[ "$notes" == 0 ]] || { echo "FAIL: a release build printed the note"; exit 1; }
echo "debug build: the note on unoptimised builds printed once, silenced by STACKNET_NO_DEBUG_HINT"
