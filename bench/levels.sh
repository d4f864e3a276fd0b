#!/usr/bin/env bash
# LeNet-5's benchmark (examples/bench.rs) in the builds users get, side by side in one run:
#
#   native    this repository's build (target-cpu=native, fat LTO), the README's figures;
#   dispatch  a user's crate (tests/user-crate: default release profile, no RUSTFLAGS, the
#             x86-64 baseline), with the instruction set the kernels pick at run time;
#   portable  the same binary capped to the baseline (STACKNET_SIMD=portable), what every
#             dependent crate got before run-time dispatch;
#   avx2      the same binary capped to AVX2 (only on CPUs with AVX-512, where it differs).
#
# Prints each build's figures and their ratios to the native build's (time / native time).
# Knobs as for the benchmark: BENCH_ITERS_B1, BENCH_ITERS_B32, BENCH_REPS.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/target/bench-levels
mkdir -p "$OUT"

echo "== build: native (this repository's profile) =="
cargo build --release --features bench --example bench --manifest-path "$ROOT/Cargo.toml" 2>&1 | grep -E "^error|Finished"
echo "== build: a user's crate (default profile, no RUSTFLAGS) =="
"$ROOT/tests/user-crate/run.sh" --bench >"$OUT/user-crate.txt"
cat "$OUT/user-crate.txt"
USER_BENCH=$ROOT/target/user-crate/release/bench

run() { echo "== run: $1 ==" >&2; shift; env "$@" --json; }
run native "$ROOT/target/release/examples/bench" >"$OUT/native.json"
run dispatch "$USER_BENCH" >"$OUT/dispatch.json"
run portable STACKNET_SIMD=portable "$USER_BENCH" >"$OUT/portable.json"
levels=(native dispatch portable)
if grep -q avx512f /proc/cpuinfo; then
  run avx2 STACKNET_SIMD=avx2 "$USER_BENCH" >"$OUT/avx2.json"
  levels+=(avx2)
fi

python3 - "$OUT" "${levels[@]}" <<'PY'
import json, sys
out, names = sys.argv[1], sys.argv[2:]
runs = {n: json.load(open(f"{out}/{n}.json")) for n in names}
keys = [("infer_b1_us", "inference, batch 1 (µs)"),
        ("train_b1_us", "training step, batch 1 (µs)"),
        ("train_b32_us_per_sample", "training, batch 32 (µs per sample)")]
print(f"{'':36}" + "".join(f"{n:>18}" for n in names))
for k, label in keys:
    base = runs["native"][k]
    cells = "".join(f"{runs[n][k]:>10.2f} ({runs[n][k] / base:4.2f}×)" for n in names)
    print(f"{label:36}{cells}")
PY
