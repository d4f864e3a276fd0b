"""Checks that PyTorch and onnxruntime compute what stacknet computes, then writes the ONNX file.

  python bench/tiny/parity.py DIR MODEL...     (DIR: what `bench_tiny --write DIR` wrote)

Per model:
  1. PyTorch (eval mode) on stacknet's weights, first input of the pool, against stacknet's
     inference output: max |difference| / max |stacknet's logit| must be below 1e-4;
  2. one SGD step (lr 0.01) at batch 32, batch norm (if any) in training mode, cross-entropy
     (the LSTM backpropagates through all 28 steps): the loss against stacknet's (relative
     difference below 1e-4), and the parameter update (after - before) computed in f64 on both
     sides (stacknet's `update_b32.f64`), max |difference| / max |update| below 1e-9: the
     same gradients. The f32 updates of both are compared with the f64 one on "# info" lines
     (f32 rounding, not a pass / fail criterion);
  3. writes DIR/MODEL.onnx (opset 17, batch 1, built node by node from the same weights and
     running statistics 0 / 1; the LSTM as one ONNX LSTM node, its gates reordered) and checks
     onnxruntime's output on the first input as in 1.
Prints one "# parity ..." line per check and exits non-zero if any fails.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_common import Files, one_thread, onnx_model, ort_session  # noqa: E402


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def sgd_update(f, xs, dtype):
    """One SGD step (lr 0.01) at batch 32 from stacknet's initial weights, batch norm in training
    mode: the loss and the flat parameter update (after - before) in float64."""
    t = f.model().train().to(dtype)
    before = torch.cat([p.detach().flatten().clone() for p in t.parameters()])
    opt = torch.optim.SGD(t.parameters(), lr=0.01)
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(t(xs[:32].to(dtype)), f.labels(32))
    loss.backward()
    opt.step()
    after = torch.cat([p.detach().flatten() for p in t.parameters()])
    return float(loss.detach()), (after.double() - before.double()).numpy()


def main():
    directory, models = sys.argv[1], sys.argv[2:]
    one_thread()
    ok = True

    def check(what, err, limit):
        nonlocal ok
        good = err <= limit
        ok &= good
        print(f"# parity {what}: {err:.2e} (limit {limit:g}) {'ok' if good else 'FAIL'}", flush=True)

    for name in models:
        f = Files(directory, name)
        xs = f.inputs()
        ours = f.f32("logits.f32")

        m = f.model().eval()
        with torch.no_grad():
            torch_logits = m(xs[:1])[0].numpy()
        check(f"{name} inference torch vs stacknet (max rel)", rel(torch_logits, ours), 1e-4)

        loss, their_update = sgd_update(f, xs, torch.float32)
        our_update = f.f32("params_after_step.f32").astype(np.float64) - f.f32("params.f32")
        our_loss = f.manifest["loss_after_step_b32"]
        check(f"{name} train step b32 loss torch {loss:.6f} vs stacknet {our_loss:.6f} (rel)",
              abs(loss - our_loss) / abs(our_loss), 1e-4)
        # The update in f64 on both sides must agree to rounding: the same function and the
        # same gradient formulas. In f32 the two differ by their rounding, which depends on how
        # each sums (batch-norm statistics over 32 × H × W values, say): both are compared with
        # the f64 update, for information.
        _, exact = sgd_update(f, xs, torch.float64)
        ours64 = np.fromfile(f.path("update_b32.f64"), dtype="<f8")
        check(f"{name} train step b32 update in f64, stacknet vs torch (max rel)", rel(ours64, exact), 1e-9)
        e_torch, e_ours = rel(their_update, exact), rel(our_update, exact)
        print(f"# info {name} train step b32 update in f32 against f64 (max rel): torch {e_torch:.1e}, "
              f"stacknet {e_ours:.1e} ({e_ours / e_torch:.2g}× PyTorch's)", flush=True)

        import onnx
        path = f.path("onnx")
        onnx.save(onnx_model(f.model().eval(), f.shape), path)
        sess = ort_session(path)
        ort_logits = sess.run(["logits"], {"input": xs[:1].numpy()})[0][0]
        check(f"{name} inference onnxruntime vs stacknet (max rel)", rel(ort_logits, ours), 1e-4)
        print(f"# wrote {path}", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
