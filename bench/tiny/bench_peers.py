"""Times onnxruntime or PyTorch on the models stacknet's `bench_tiny --write DIR` wrote.

  python bench/tiny/bench_peers.py ort   DIR MODEL...   (after parity.py has written DIR/MODEL.onnx)
  python bench/tiny/bench_peers.py torch DIR MODEL...

Run each peer in its own process, single-threaded and pinned (`taskset -c 1`; OMP_NUM_THREADS=1;
the script also sets torch's intra- and inter-op threads to 1), as ../shared/bench's Python peers
are. Cases, each the median (and p10 / p90) of per-call times in µs after a warm-up, cycling the
pool of 64 inputs at batch 1:

  ort fwd b1       onnxruntime, one intra-op thread, sequential execution, ORT_ENABLE_ALL
  torch fwd b1     PyTorch eager, eval mode, under torch.inference_mode()
  torch train b1   opt.zero_grad(); F.cross_entropy(model(x), y).backward(); opt.step(),
                   torch.optim.SGD(lr=0.01), model.train() (batch norm on the batch's statistics)
  torch train b32  the same step on the fixed batch of the first 32 inputs (divide by 32 for
                   the per-sample figure)

Knobs: ITERS (batch-1 calls, default 200), ITERS_B32 (default 20), WARMUP (20), WARMUP_B32 (3).
Output: "model<TAB>case<TAB>median_us<TAB>p10_us<TAB>p90_us<TAB>iters" per case on stdout;
versions on stderr as "# ..." lines.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_common import Files, bench, one_thread, ort_session  # noqa: E402


def cycler(fn, n):
    state = [0]

    def call():
        k = state[0] % n
        state[0] += 1
        return fn(k)
    return call


def main():
    peer, directory, models = sys.argv[1], sys.argv[2], sys.argv[3:]
    iters = int(os.environ.get("ITERS", "200"))
    iters32 = int(os.environ.get("ITERS_B32", "20"))
    warmup = int(os.environ.get("WARMUP", "20"))
    warmup32 = int(os.environ.get("WARMUP_B32", "3"))
    one_thread()
    rows = []
    for name in models:
        f = Files(directory, name)
        xs = f.inputs()
        pool = [xs[k:k + 1].clone() for k in range(len(xs))]
        if peer == "ort":
            import onnxruntime as ort
            print(f"# onnxruntime {ort.__version__}, {f.path('onnx')}", file=sys.stderr)
            sess = ort_session(f.path("onnx"))
            feeds = [{"input": x.numpy()} for x in pool]
            rows.append((name, "ort fwd b1",
                         bench(cycler(lambda k: sess.run(["logits"], feeds[k]), len(feeds)), iters, warmup), iters))
            continue
        print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}/"
              f"{torch.get_num_interop_threads()}, cpu capability "
              f"{torch.backends.cpu.get_cpu_capability()}, mkldnn {torch.backends.mkldnn.is_available()}",
              file=sys.stderr)
        model = f.model().eval()
        with torch.inference_mode():
            rows.append((name, "torch fwd b1",
                         bench(cycler(lambda k: model(pool[k]), len(pool)), iters, warmup), iters))
        tmodel = f.model().train()
        opt = torch.optim.SGD(tmodel.parameters(), lr=0.01)

        def step(x, y):
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(tmodel(x), y)
            loss.backward()
            opt.step()
            return loss

        labels = f.labels(len(xs))
        lab1 = [labels[k:k + 1].clone() for k in range(len(xs))]
        rows.append((name, "torch train b1",
                     bench(cycler(lambda k: step(pool[k], lab1[k]), len(pool)), iters, warmup), iters))
        x32, y32 = xs[:32].clone(), labels[:32].clone()
        rows.append((name, "torch train b32", bench(lambda: step(x32, y32), iters32, warmup32), iters32))
    for name, case, (med, p10, p90), n in rows:
        print(f"{name}\t{case}\t{med:.1f}\t{p10:.1f}\t{p90:.1f}\t{n}", flush=True)


if __name__ == "__main__":
    main()
