#!/usr/bin/env bash
# MLPerf Tiny's ResNet-8 and DS-CNN, and the mnist_rows LSTM (LSTM(128) over 28 steps of 28
# features, dense 10): stacknet beside onnxruntime (inference) and PyTorch eager (inference and
# training) on the same weights and inputs, one after another in the same run, every figure
# printed as a ratio (stacknet's time / the peer's).
#
#   bench/compare_tiny.sh [MODEL...]        # default: resnet8 dscnn lstm
#
# 1. builds examples/bench_tiny.rs (release, fat LTO, -C target-cpu=native) into target/bench;
# 2. runs it pinned to one CPU: it writes the weights (SplitMix64 seed 0, PyTorch's order and
#    layout), the input pool and its reference outputs to target/bench-tiny/, then times itself;
# 3. bench/tiny/parity.py: PyTorch and onnxruntime on those weights must give stacknet's
#    inference output (and PyTorch its SGD step at batch 32); it writes the ONNX files;
# 4. bench/tiny/bench_peers.py times onnxruntime, then PyTorch, each in its own process, pinned.
#
# The peers are measuring instruments: nothing of theirs is built into stacknet. Python: PY, or
# target/bench-peers/.venv-peers/bin/python (made by bench/compare.sh's peers-py/setup.sh; it
# needs torch, onnxruntime and onnx). Knobs: CPU (default 1), BENCH_ITERS_B1 (200),
# BENCH_ITERS_B32 (10 steps of 32), BENCH_REPS (5) for stacknet; ITERS (200), ITERS_B32 (20)
# for the peers; LAYERS=1 adds stacknet's per-layer profile.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/target/bench-tiny
mkdir -p "$OUT"
MODELS=("$@")
[[ ${#MODELS[@]} -gt 0 ]] || MODELS=(resnet8 dscnn lstm)
CPU=${CPU:-1}
PY=${PY:-$ROOT/target/bench-peers/.venv-peers/bin/python}
if [[ ! -x "$PY" ]]; then
  echo "no Python environment at $PY: set PY, or run bench/compare.sh PEERS_DIR once" >&2
  exit 1
fi

export RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
export BENCH_ITERS_B1=${BENCH_ITERS_B1:-200} BENCH_ITERS_B32=${BENCH_ITERS_B32:-10} BENCH_REPS=${BENCH_REPS:-5}
export ITERS=${ITERS:-200} ITERS_B32=${ITERS_B32:-20}

echo "== build stacknet bench_tiny (release, lto, target-cpu=native) =="
CARGO_TARGET_DIR=$ROOT/target/bench RUSTFLAGS="-C target-cpu=native" \
  cargo build --release --features bench --example bench_tiny --manifest-path "$ROOT/Cargo.toml" 2>&1 | grep -E "^error|Finished"
BIN=$ROOT/target/bench/release/examples/bench_tiny

uptime | tee "$OUT/uptime.txt"
: >"$OUT/stacknet.json"
for m in "${MODELS[@]}"; do
  echo "== run stacknet $m (taskset -c $CPU) =="
  taskset -c "$CPU" "$BIN" --model "$m" --write "$OUT" --json >>"$OUT/stacknet.json"
done

echo "== parity: PyTorch and onnxruntime on stacknet's weights =="
"$PY" "$ROOT/bench/tiny/parity.py" "$OUT" "${MODELS[@]}" 2>&1 | grep -v Warning | tee "$OUT/parity.txt"

echo "== run onnxruntime, then PyTorch (taskset -c $CPU) =="
taskset -c "$CPU" "$PY" "$ROOT/bench/tiny/bench_peers.py" ort "$OUT" "${MODELS[@]}" >"$OUT/peers.tsv"
taskset -c "$CPU" "$PY" "$ROOT/bench/tiny/bench_peers.py" torch "$OUT" "${MODELS[@]}" >>"$OUT/peers.tsv"
uptime | tee -a "$OUT/uptime.txt"

if [[ "${LAYERS:-0}" == 1 ]]; then
  for m in "${MODELS[@]}"; do
    taskset -c "$CPU" "$BIN" --model "$m" --layers | tee "$OUT/layers-$m.txt"
  done
fi

python3 - "$OUT/stacknet.json" "$OUT/peers.tsv" "$OUT/parity.txt" <<'PY'
import json, sys
ours = {r["model"]: r for r in map(json.loads, filter(str.strip, open(sys.argv[1])))}
peers = {}
for line in open(sys.argv[2]):
    model, case, med, *_ = line.rstrip("\n").split("\t")
    peers[(model, case)] = float(med)
parity_ok = all(l.rstrip().endswith("ok") for l in open(sys.argv[3]) if l.startswith("# parity"))
names = {"resnet8": "ResNet-8", "dscnn": "DS-CNN", "lstm": "LSTM-128"}
cases = [("infer_b1_us", "inference b1", "ort fwd b1", "torch fwd b1", 1),
         ("train_b1_us", "train step b1", None, "torch train b1", 1),
         ("train_b32_us_per_sample", "train b32 per sample", None, "torch train b32", 32)]
print()
print("f32, one thread; µs per call (per sample at batch 32); ratio = stacknet / peer (below 1: stacknet faster)")
print(f"{'model':10}{'case':22}{'stacknet':>11}{'onnxruntime':>20}{'PyTorch eager':>20}{'allocs/call':>13}")
checks = []
for model, r in ours.items():
    allocs = {"infer_b1_us": r["allocs_per_infer"], "train_b1_us": r["allocs_per_train_step_b1"],
              "train_b32_us_per_sample": r["allocs_per_train_step_b32"]}
    for key, label, ort, torch, div in cases:
        cells = []
        for peer in (ort, torch):
            t = peers.get((model, peer)) if peer else None
            cells.append(f"{t / div:.1f} ({r[key] / (t / div):.2f}×)" if t else "–")
        print(f"{names.get(model, model):10}{label:22}{r[key]:>11.1f}{cells[0]:>20}{cells[1]:>20}{allocs[key]:>13g}")
    if (model, "ort fwd b1") in peers:
        checks.append((f"{model} inference ≤ 0.5× onnxruntime", r["infer_b1_us"] / peers[(model, "ort fwd b1")], 0.5))
    if (model, "torch train b1") in peers:
        checks.append((f"{model} train step b1 ≤ 0.25× PyTorch", r["train_b1_us"] / peers[(model, "torch train b1")], 0.25))
    if (model, "torch train b32") in peers:
        checks.append((f"{model} train b32 ≤ 0.25× PyTorch",
                       r["train_b32_us_per_sample"] / (peers[(model, "torch train b32")] / 32), 0.25))
print()
for m, r in ours.items():
    print(f"{names.get(m, m)}: {r['params']:,} parameters, {r['macs']:,} MACs per sample; stacknet "
          f"{r['gflops_infer']:.1f} GFLOP/s in inference" + "".join(
              f", {peer} {2 * r['macs'] / (peers[(m, case)] * 1e3):.1f}"
              for peer, case in (("onnxruntime", "ort fwd b1"), ("PyTorch", "torch fwd b1"))
              if (m, case) in peers))
print("targets:")
for what, ratio, limit in checks:
    print(f"  {'met ' if ratio <= limit else 'MISS'}  {what:44} {ratio:.3f} (limit {limit})")
zero = all(r[k] == 0 for r in ours.values() for k in
           ("allocs_per_infer", "allocs_per_train_step_b1", "allocs_per_train_step_b32"))
print(f"  {'met ' if zero else 'MISS'}  zero heap allocations per inference and training step")
print(f"  parity (PyTorch and onnxruntime on the same weights): {'ok' if parity_ok else 'FAILED'}")
PY
