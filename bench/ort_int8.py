"""onnxruntime's own static int8 quantisation (QDQ) of the shipped LeNet-5, timed as a peer.

  python3 -m venv target/ort-venv
  nice -n 10 target/ort-venv/bin/pip install onnxruntime onnx numpy safetensors
  target/ort-venv/bin/python bench/ort_int8.py [--weights PATH] [--model PATH] [--json] [--sess-run]

(from the repo root; `taskset -c 0` in front pins it to one core, as ../shared/bench's peers
run). --weights is the float LeNet-5 in PyTorch names and layouts, F32 (default
target/lenet-shipped.safetensors, which `cargo test --release --test int8 shipped` writes).

The float network is stacknet's own ONNX export of the same weights (--model, default
target/onnx-parity/lenet_shipped.onnx, which `cargo test --test onnx shipped` writes: opset 17,
input "input" [N, 1, 28, 28], output "output" [N, 10]; copied to target/ort-int8/lenet_f32.onnx),
so onnxruntime runs exactly stacknet's weights. The script checks it against a numpy float64
forward pass on 5 test digits of --weights, runs onnxruntime's quant_pre_process (which
quantize_static asks for) and quantize_static: QDQ, per-channel int8 weights, int8
activations, MinMax over the first 1,000 training digits one per batch, in order (the
calibration set stacknet uses; target/ort-int8/lenet_int8_qdq.onnx). It checks the QDQ graph,
compares its logits with the float ones and with the same graph run unoptimised (QDQ simulated
in float), saves both graphs as onnxruntime optimises them (*.opt.onnx) and prints their ops,
and reports float and int8 accuracy on the 2,000 test digits.

Timing, float and int8 model alike: one intra-op and one inter-op thread, ORT_SEQUENTIAL,
ORT_ENABLE_ALL, CPUExecutionProvider, no spinning; 64 uniform [0, 1) images from numpy
default_rng(42), cycled; BENCH_WARMUP_B1 calls (200), then BENCH_REPS (5) repetitions of
BENCH_ITERS_B1 calls (2000); µs per call = repetition time / calls, median over repetitions
(stacknet's examples/bench.rs protocol). Calls are run_with_iobinding, one IOBinding per image
with its input and the output OrtValue bound beforehand: 10-15 µs a call faster here than
sess.run with a prebuilt feed dict (--sess-run, as ../shared/bench's bench_ort.py calls). The QDQ
model takes float input and gives float output: its time includes QuantizeLinear of the
input and DequantizeLinear of the logits, as stacknet's int8 figure (its twin's `infer`) does.

stdout: `ort-int8 float fwd b1 <µs>`, `ort-int8 qdq fwd b1 <µs>`, `ort-int8 accuracy float
<pct> int8 <pct>`, or with --json one JSON object; everything else goes to stderr.
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
MNIST = os.path.join(ROOT, "data", "mnist")
OUT = os.path.join(ROOT, "target", "ort-int8")
F32 = os.path.join(OUT, "lenet_f32.onnx")
PRE = os.path.join(OUT, "lenet_f32.pre.onnx")
QDQ = os.path.join(OUT, "lenet_int8_qdq.onnx")
TRAIN, CALIBRATION, CHECK_DIGITS = 8000, 1000, 5
TOL = 1e-5

SHAPES = {
    "conv1.weight": (6, 1, 5, 5), "conv1.bias": (6,),
    "conv2.weight": (16, 6, 5, 5), "conv2.bias": (16,),
    "fc1.weight": (120, 400), "fc1.bias": (120,),
    "fc2.weight": (84, 120), "fc2.bias": (84,),
    "fc3.weight": (10, 84), "fc3.bias": (10,),
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def env(key, default):
    try:
        return int(os.environ[key])
    except (KeyError, ValueError):
        return default


# ---------------------------------------------------------------- data and float weights

def load_idx(path, magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    got, count = struct.unpack(">II", data[:8])
    assert got == magic, f"{path}: magic {got:#010x}, want {magic:#010x}"
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, count * rows * cols, 16).reshape(count, rows, cols)
    return np.frombuffer(data, np.uint8, count, 8)


def load_mnist():
    images = load_idx(os.path.join(MNIST, "mnist-10k-images-idx3-ubyte.gz"), 0x803)
    labels = load_idx(os.path.join(MNIST, "mnist-10k-labels-idx1-ubyte.gz"), 0x801)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    x = (images.astype(np.float32) / np.float32(255.0))[:, None]  # [N, 1, 28, 28], CHW
    return x[:TRAIN], x[TRAIN:], labels[TRAIN:].astype(np.int64)


def load_weights(path):
    from safetensors.numpy import load_file
    w = load_file(path)
    assert set(w) == set(SHAPES), f"{path}: tensors {sorted(w)}, want {sorted(SHAPES)}"
    for name, shape in SHAPES.items():
        assert w[name].shape == shape and w[name].dtype == np.float32, \
            f"{name}: {w[name].dtype} {w[name].shape}, want float32 {shape}"
    return w


# ---------------------------------------------------------------- numpy float reference (CHW)

def windows(x, k):
    """[C, H, W] → [C, H-k+1, W-k+1, k, k]."""
    return np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))


def conv_f(x, w, b, pad):
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    return np.einsum("chwij,ocij->ohw", windows(x, w.shape[2]), w) + b[:, None, None]


def pool(x):
    c, h, w = x.shape
    return x.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))


def forward_f(w, x):
    """One digit [1, 28, 28] → logits [10], in float64."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    relu = lambda v: np.maximum(v, 0.0)
    h = pool(relu(conv_f(x.astype(np.float64), w["conv1.weight"], w["conv1.bias"], 2)))
    h = pool(relu(conv_f(h, w["conv2.weight"], w["conv2.bias"], 0))).reshape(400)
    h = relu(w["fc1.weight"] @ h + w["fc1.bias"])
    h = relu(w["fc2.weight"] @ h + w["fc2.bias"])
    return w["fc3.weight"] @ h + w["fc3.bias"]


def close(name, got, want):
    err = (np.abs(got - want) / np.maximum(np.abs(want), 1.0)).max()
    log(f"{name}: max error {err:.2e} (relative, or absolute below 1)")
    assert err <= TOL, f"{name}: {err:.2e} exceeds {TOL}"


# ---------------------------------------------------------------- the ONNX model

def exported_f32(path):
    """stacknet's own export of the weights (`stacknet::onnx::to_onnx`), checked."""
    import onnx
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    return model


class Calibration:
    """The first 1,000 training digits, one per batch, in order (an
    onnxruntime.quantization.CalibrationDataReader)."""

    def __init__(self, x):
        self.x, self.i = x, 0

    def get_next(self):
        if self.i >= len(self.x):
            return None
        self.i += 1
        return {"input": self.x[self.i - 1][None]}

    def rewind(self):
        self.i = 0


def quantize(x_calibration):
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quant_pre_process, quantize_static)
    # Symbolic shape inference (for dynamic shapes; needs sympy) has nothing to do here: every
    # shape is static, and ONNX's own shape inference still runs.
    quant_pre_process(F32, PRE, skip_symbolic_shape=True)
    quantize_static(PRE, QDQ, Calibration(x_calibration), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)


def check_qdq(path):
    """The QDQ graph: every Conv and Gemm fed by DequantizeLinear of int8 tensors, weights int8
    per output channel (axis 0), biases int32. Returns the op list."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    producer = {o: n for n in m.graph.node for o in n.output}
    for n in m.graph.node:
        if n.op_type not in ("Conv", "Gemm"):
            continue
        dq = [producer.get(i) for i in n.input]
        assert all(d is not None and d.op_type == "DequantizeLinear" for d in dq), \
            f"{n.name}: inputs not all dequantised"
        x_q, w_q, b_q = (inits.get(d.input[0]) for d in dq)
        assert x_q is None, f"{n.name}: activation is an initializer"
        assert w_q.dtype == np.int8 and b_q.dtype == np.int32, f"{n.name}: {w_q.dtype} {b_q.dtype}"
        scale = inits[dq[1].input[1]]
        axis = next((a.i for a in dq[1].attribute if a.name == "axis"), 1)
        assert scale.shape == (w_q.shape[0],) and axis == 0, \
            f"{n.name}: weight scale {scale.shape} axis {axis}, want per output channel"
        zp = inits[dq[1].input[2]] if len(dq[1].input) > 2 else np.zeros(1, np.int8)
        assert np.all(zp == 0), f"{n.name}: weight zero points {zp}"
        act = producer[dq[0].input[0]]
        assert act.op_type == "QuantizeLinear", f"{n.name}: {act.op_type} before DequantizeLinear"
        azp = inits[act.input[2]]
        assert azp.dtype == np.int8, f"{n.name}: activation type {azp.dtype}"
    return [n.op_type for n in m.graph.node]


# ---------------------------------------------------------------- onnxruntime

def session(path, level="all", optimized=None):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}[level]
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if optimized:
        so.optimized_model_filepath = optimized
        so.log_severity_level = 3  # not the warning that the saved graph is for this CPU only
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def logits(sess, x):
    return np.concatenate([sess.run(["output"], {"input": x[i][None]})[0] for i in range(len(x))])


def optimized_ops(path):
    """The graph as onnxruntime runs it after ORT_ENABLE_ALL, saved beside the model."""
    import onnx
    opt = path.replace(".onnx", ".opt.onnx")
    session(path, optimized=opt)
    m = onnx.load(opt)
    return [n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"
            for n in m.graph.node]


def median_us(warmup, iters, reps, call):
    """stacknet's examples/bench.rs: warm up, then the median of µs per call over reps."""
    for i in range(warmup):
        call(i)
    iters, v = max(iters, 1), []
    for _ in range(max(reps, 1)):
        t = time.perf_counter()
        for i in range(iters):
            call(i)
        v.append((time.perf_counter() - t) * 1e6 / iters)
    return statistics.median(v), v


def timer(sess, images, io_binding):
    """A function of the call index that runs one image, everything allocated beforehand."""
    if not io_binding:
        feeds = [{"input": x} for x in images]
        run, out = sess.run, ["output"]
        return lambda i: run(out, feeds[i % 64])
    import onnxruntime as ort
    bindings = []
    for x in images:
        b = sess.io_binding()
        b.bind_ortvalue_input("input", ort.OrtValue.ortvalue_from_numpy(x))
        b.bind_ortvalue_output("output", ort.OrtValue.ortvalue_from_shape_and_type([1, 10], np.float32))
        bindings.append(b)
    run = sess.run_with_iobinding
    run(bindings[0])
    bound = bindings[0].get_outputs()[0].numpy()
    assert np.array_equal(bound, sess.run(["output"], {"input": images[0]})[0]), "io binding"
    return lambda i: run(bindings[i % 64])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=os.path.join(ROOT, "target", "lenet-shipped.safetensors"))
    ap.add_argument("--model", default=os.path.join(ROOT, "target", "onnx-parity", "lenet_shipped.onnx"),
                    help="the same weights as stacknet exports them to ONNX")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--sess-run", action="store_true",
                    help="time sess.run with a feed dict instead of run_with_iobinding")
    args = ap.parse_args()

    import onnx
    import onnxruntime as ort

    if not os.path.exists(args.weights):
        sys.exit(f"no {args.weights}: pass --weights PATH (`cargo test --release --test int8 "
                 "shipped` writes target/lenet-shipped.safetensors)")
    if not os.path.exists(args.model):
        sys.exit(f"no {args.model}: pass --model PATH (`cargo test --test onnx shipped` writes "
                 "target/onnx-parity/lenet_shipped.onnx)")
    w = load_weights(args.weights)
    x_train, x_test, y_test = load_mnist()
    log(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}, numpy {np.__version__}; "
        f"weights {args.weights}")
    os.makedirs(OUT, exist_ok=True)

    # Float model: stacknet's export, checked against numpy on the weights, accuracy.
    onnx.save(exported_f32(args.model), F32)
    f32 = session(F32)
    f32_logits = logits(f32, x_test)
    ref = np.stack([forward_f(w, x_test[i]) for i in range(CHECK_DIGITS)])
    close(f"onnxruntime vs numpy float logits, {CHECK_DIGITS} test digits", f32_logits[:CHECK_DIGITS], ref)
    float_acc = 100.0 * np.mean(f32_logits.argmax(1) == y_test)
    log(f"float accuracy: {float_acc:.2f}% of {len(y_test)} test digits")

    # Quantise, check the graph, accuracy.
    quantize(x_train[:CALIBRATION])
    ops = check_qdq(QDQ)
    log(f"wrote {os.path.relpath(QDQ, ROOT)}: {' '.join(ops)}")
    qdq = session(QDQ)
    q_logits = logits(qdq, x_test)
    int8_acc = 100.0 * np.mean(q_logits.argmax(1) == y_test)
    agree = int(np.sum(q_logits.argmax(1) == f32_logits.argmax(1)))
    log(f"int8 accuracy: {int8_acc:.2f}% of {len(y_test)} test digits; argmax agrees with float "
        f"on {agree}; max |int8 − float| logit {np.abs(q_logits - f32_logits).max():.3f}")
    assert agree >= 0.98 * len(y_test) and int8_acc >= float_acc - 1.0, "int8 model off"
    sim = logits(session(QDQ, level="none"), x_test)
    log(f"optimised int8 vs unoptimised QDQ graph (float simulation): argmax differs on "
        f"{int(np.sum(sim.argmax(1) != q_logits.argmax(1)))}, max |logit diff| "
        f"{np.abs(sim - q_logits).max():.3g} (|logits| up to {np.abs(f32_logits).max():.3g}; "
        f"simulated accuracy {100.0 * np.mean(sim.argmax(1) == y_test):.2f}%)")
    for name, path in [("float", F32), ("int8", QDQ)]:
        log(f"{name} graph after ORT_ENABLE_ALL: {' '.join(optimized_ops(path))}")

    # Timing.
    warmup, iters, reps = env("BENCH_WARMUP_B1", 200), env("BENCH_ITERS_B1", 2000), env("BENCH_REPS", 5)
    images = np.random.default_rng(42).random((64, 1, 1, 28, 28), dtype=np.float32)
    how = "sess.run" if args.sess_run else "run_with_iobinding"
    log(f"timing ({how}): {warmup} warm-up calls, median of {reps} repetitions of {iters} calls")
    times = {}
    for name, sess in [("float", f32), ("qdq", qdq)]:
        times[name], v = median_us(warmup, iters, reps, timer(sess, images, not args.sess_run))
        log(f"{name}: " + " ".join(f"{t:.2f}" for t in v) + " µs per call")

    if args.json:
        print(json.dumps({"ort_f32_b1_us": round(times["float"], 3),
                          "ort_int8_b1_us": round(times["qdq"], 3),
                          "ort_version": ort.__version__,
                          "float_accuracy": round(float_acc, 2),
                          "int8_accuracy": round(int8_acc, 2)}))
    else:
        print(f"ort-int8 float fwd b1 {times['float']:.2f}")
        print(f"ort-int8 qdq fwd b1 {times['qdq']:.2f}")
        print(f"ort-int8 accuracy float {float_acc:.2f} int8 {int8_acc:.2f}")


if __name__ == "__main__":
    main()
