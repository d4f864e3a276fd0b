#!/usr/bin/env bash
# Runs stacknet's LeNet-5 benchmark and the peer programs for the same model one after another,
# in the same run, and prints every peer figure next to ours as a ratio (ours / theirs).
#
#   bench/compare.sh PEERS_DIR        # e.g. ../shared/bench (peers-rust/ and peers-py/)
#
# The peers are measuring instruments: nothing of theirs is built into stacknet. A read-only
# PEERS_DIR is copied to target/bench-peers/ first (their first build takes 10–15 minutes and is
# kept there). Knobs: BENCH_ITERS_B1, BENCH_ITERS_B32, BENCH_REPS (as the peers), SKIP_PY=1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=$(cd "${1:?usage: bench/compare.sh PEERS_DIR}" && pwd)
OUT=$ROOT/target/bench-compare
mkdir -p "$OUT"

if [[ ! -w "$PEERS/peers-rust" ]]; then
  COPY=$ROOT/target/bench-peers
  mkdir -p "$COPY"
  (cd "$PEERS" && find . -path '*/target' -prune -o -path '*/logs' -prune -o -type f -print) |
    while read -r f; do mkdir -p "$COPY/$(dirname "$f")"; cp -p "$PEERS/$f" "$COPY/$f"; done
  chmod -R u+w "$COPY"
  PEERS=$COPY
fi

export RAYON_NUM_THREADS=1 MATMUL_NUM_THREADS=1 OMP_NUM_THREADS=1
export BENCH_ITERS_B1=${BENCH_ITERS_B1:-2000} BENCH_ITERS_B32=${BENCH_ITERS_B32:-100} BENCH_REPS=${BENCH_REPS:-5}

echo "== build stacknet bench (release, lto, target-cpu=native) =="
CARGO_TARGET_DIR=$ROOT/target/bench RUSTFLAGS="-C target-cpu=native" \
  cargo build --release --features bench --example bench --manifest-path "$ROOT/Cargo.toml" 2>&1 | grep -E "^error|Finished"
BIN=$ROOT/target/bench/release/examples/bench

echo "== run stacknet =="
/usr/bin/time -v "$BIN" --json >"$OUT/stacknet.json" 2>"$OUT/stacknet.time"

echo "== run Rust peers ($PEERS/peers-rust/run.sh) =="
(cd "$PEERS/peers-rust" && ./run.sh) >"$OUT/peers-rust.txt" 2>&1 || { tail -20 "$OUT/peers-rust.txt"; exit 1; }

if [[ "${SKIP_PY:-0}" != 1 ]]; then
  echo "== run Python peers ($PEERS/peers-py/run.sh) =="
  [[ -x "$PEERS/.venv-peers/bin/python" ]] || "$PEERS/peers-py/setup.sh"
  "$PEERS/peers-py/run.sh" >"$OUT/peers-py.txt" 2>&1 || { tail -20 "$OUT/peers-py.txt"; exit 1; }
fi

# onnxruntime on stacknet's ONNX export of the shipped LeNet-5, in float and statically
# quantised to int8 (QDQ) with our calibration digits: bench/ort_int8.py, in target/ort-venv (its header says how to make it).
if [[ -x "$ROOT/target/ort-venv/bin/python" && "${SKIP_PY:-0}" != 1 ]]; then
  echo "== run onnxruntime int8 (bench/ort_int8.py) =="
  [[ -f "$ROOT/target/lenet-shipped.safetensors" ]] ||
    cargo test --release --test int8 shipped --manifest-path "$ROOT/Cargo.toml" >/dev/null
  # onnxruntime's float model is stacknet's own ONNX export of the same weights.
  cargo test --test onnx shipped --manifest-path "$ROOT/Cargo.toml" >/dev/null
  "$ROOT/target/ort-venv/bin/python" "$ROOT/bench/ort_int8.py" --json >"$OUT/ort-int8.json" 2>"$OUT/ort-int8.log" ||
    { tail -20 "$OUT/ort-int8.log"; exit 1; }
fi

python3 - "$OUT/stacknet.json" "$PEERS/peers-rust/logs/results.tsv" "$OUT/peers-py.txt" "$OUT/ort-int8.json" <<'PY'
import json, sys, os
ours = json.load(open(sys.argv[1]))
rows = []  # (name, infer, train1, train32)
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("\t")
    num = lambda s: float(s) if s not in ("n/a", "") else None
    rows.append((f[1], num(f[4]), num(f[5]), num(f[6])))
if os.path.exists(sys.argv[3]):
    py = {}
    for line in open(sys.argv[3]):
        p = line.split()
        if len(p) >= 2 and p[0] in ("ort", "jax"):
            py[" ".join(p[:3])] = float(p[3])
    if "ort fwd b1" in py:
        rows.append(("onnxruntime", py["ort fwd b1"], None, None))
    if "jax fwd b1" in py:
        rows.append(("jax", py["jax fwd b1"], py.get("jax train b1"),
                     py["jax train b32"] / 32 if "jax train b32" in py else None))
keys = [("infer_b1_us", 1), ("train_b1_us", 2), ("train_b32_us_per_sample", 3)]
print()
print("LeNet-5, f32, one thread; ratio = stacknet time / peer time (below 1: stacknet is faster)")
print(f"{'':24}{'infer b1 µs':>16}{'train b1 µs':>16}{'train b32 µs/s':>16}")
print(f"{'stacknet':24}" + "".join(f"{ours[k]:>16.2f}" for k, _ in keys))
for r in rows:
    cells = []
    for k, i in keys:
        cells.append(f"{r[i]:>8.1f} ({ours[k] / r[i]:.2f}×)" if r[i] else f"{'n/a':>16}")
    print(f"{r[0]:24}" + "".join(f"{c:>16}" for c in cells))
best = {}
for k, i in keys:
    lib = [r for r in rows if r[i] and r[0] != "naive"]
    if lib:
        b = min(lib, key=lambda r: r[i])
        best[k] = (b[0], b[i], ours[k] / b[i])
print()
for k, (name, t, ratio) in best.items():
    print(f"{k}: fastest peer library {name} {t:.1f} µs → stacknet {ratio:.3f}× its time")
print(f"allocations per inference {ours['allocs_per_infer']}, per training step "
      f"{ours['allocs_per_train_step']}; peak RSS {ours['peak_rss_mb']} MB; "
      f"{ours['gflops_infer']:.1f} GFLOP/s in inference")

# The targets of issue 5, from the figures of this run.
PEAK = 110.0  # GFLOP/s, one core's practical peak as the issue states it
by_name = {r[0]: r for r in rows}
checks = []
def check(what, ratio, limit):
    checks.append((what, ratio, limit))
if "onnxruntime" in by_name:
    check("inference ≤ 0.5× onnxruntime", ours["infer_b1_us"] / by_name["onnxruntime"][1], 0.5)
check("inference ≥ 40% of peak (share of 110 GFLOP/s)", ours["gflops_infer"] / PEAK, 0.4)
if "train_b1_us" in best:
    check(f"train b1 ≤ 0.1× fastest library ({best['train_b1_us'][0]})", best["train_b1_us"][2], 0.1)
if "train_b32_us_per_sample" in best:
    check(f"train b32 ≤ 0.25× fastest library ({best['train_b32_us_per_sample'][0]})",
          best["train_b32_us_per_sample"][2], 0.25)
if "naive" in by_name:
    for k, i in keys:
        check(f"{k} ≤ 0.5× naive", ours[k] / by_name["naive"][i], 0.5)
print()
print("targets (issue 5):")
for what, ratio, limit in checks:
    ok = ratio >= limit if "peak" in what else ratio <= limit
    print(f"  {'met ' if ok else 'MISS'}  {what:58} {ratio:.3f} (limit {limit})")
zero = ours["allocs_per_infer"] == 0 and ours["allocs_per_train_step"] == 0
print(f"  {'met ' if zero else 'MISS'}  zero heap allocations per inference and training step")

# int8 (issue 11): stacknet's twin against its own f32 and onnxruntime's QDQ model, float in
# and float out on both sides.
if "infer_int8_b1_us" in ours:
    q = ours["infer_int8_b1_us"]
    print()
    print("LeNet-5, int8, one thread, batch 1 (float in, float out)")
    print(f"  stacknet int8 {q:.2f} µs: {q / ours['infer_b1_us']:.2f}× stacknet f32 ({ours['infer_b1_us']:.2f} µs)")
    ort = json.load(open(sys.argv[4])) if os.path.exists(sys.argv[4]) else None
    if ort:
        print(f"  onnxruntime {ort['ort_version']}: int8 {ort['ort_int8_b1_us']:.2f} µs "
              f"({q / ort['ort_int8_b1_us']:.2f}×), float {ort['ort_f32_b1_us']:.2f} µs")
    for what, ratio in [("int8 ≤ 0.5× stacknet f32", q / ours["infer_b1_us"])] + (
            [("int8 ≤ 0.5× onnxruntime int8", q / ort["ort_int8_b1_us"])] if ort else []):
        print(f"  {'met ' if ratio <= 0.5 else 'MISS'}  {what:58} {ratio:.3f} (limit 0.5)")
PY
