"""MLPerf Tiny's ResNet-8 and DS-CNN, and the mnist_rows LSTM, in PyTorch and ONNX, on the
weights stacknet wrote.

`cargo run --release --example bench_tiny -- --write DIR` writes, per model M (resnet8, dscnn,
lstm):

  DIR/M.json                    manifest: input shape, classes, parameter tensors (name, shape)
                                in stacknet's order, the loss of one SGD step at batch 32
  DIR/M.params.f32              the parameters (SplitMix64 seed 0), raw little-endian f32, in
                                PyTorch's state_dict order and layout ([out, in, kh, kw], bias;
                                batch norm: weight = gamma, bias = beta; LSTM: weight_ih_l0
                                [4H, in], weight_hh_l0 [4H, H], bias_ih_l0, bias_hh_l0, gates
                                i, f, g, o)
  DIR/M.inputs.f32              the input pool: 64 inputs, uniform [0, 1) from SplitMix64(42)
  DIR/M.logits.f32              stacknet's inference output on the first input
  DIR/M.params_after_step.f32   the parameters after one SGD step (lr 0.01) at batch 32 on the
                                first 32 inputs, labels i % classes, batch norm in training mode

The PyTorch modules below are named so that `named_parameters()` yields exactly stacknet's
tensor names in stacknet's order (checked on load). Batch norm's running statistics are not
parameters: PyTorch's start at mean 0, variance 1, as stacknet's do. Both follow the reference
Keras models (github.com/mlcommons/tiny, benchmark/training/*/keras_model.py): batch norm
eps 1e-3 and momentum 0.99 (0.01 in PyTorch's convention), TensorFlow's SAME padding (the odd
row / column of padding at the bottom / right), biases on every convolution; DS-CNN's dropout is
left out (the identity at inference; the training figures are for the network without it) and
it averages over its whole 25×5 map (the reference's AveragePooling2D((24, 5)) skips the last row).
The LSTM is examples/mnist_rows.rs's: nn.LSTM(28, 128, batch_first=True) over [batch, 28, 28],
its last hidden state into nn.Linear(128, 10).
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EPS, MOMENTUM = 1e-3, 0.01


def bn(c):
    return nn.BatchNorm2d(c, eps=EPS, momentum=MOMENTUM)


def same_upper(size, kernel, stride):
    """TensorFlow's SAME padding of one dimension: (before, after), the odd one after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class PaddedConv(nn.Conv2d):
    """A convolution with explicit, possibly asymmetric zero padding ((top, bottom), (left, right))
    applied by F.pad before an unpadded convolution: what TensorFlow's SAME does at stride 2."""

    def __init__(self, cin, cout, kernel, stride, pads, groups=1):
        super().__init__(cin, cout, kernel, stride=stride, padding=0, groups=groups)
        (self.top, self.bottom), (self.left, self.right) = pads

    def forward(self, x):
        if self.top or self.bottom or self.left or self.right:
            x = F.pad(x, (self.left, self.right, self.top, self.bottom))
        return super().forward(x)

    def onnx_pads(self):
        return [self.top, self.left, self.bottom, self.right]


def conv(cin, cout, kernel, stride=1, size=None, padding="same", groups=1):
    """`padding`: "same" (stride 1, odd kernel: symmetric), "same_upper" (TensorFlow's SAME on a
    `size` = (h, w) input) or an int (symmetric)."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    if padding == "same_upper":
        pads = (same_upper(size[0], kh, stride), same_upper(size[1], kw, stride))
    elif padding == "same":
        assert stride == 1 and kh % 2 == 1 and kw % 2 == 1
        pads = ((kh // 2, kh // 2), (kw // 2, kw // 2))
    else:
        pads = ((padding, padding), (padding, padding))
    return PaddedConv(cin, cout, (kh, kw), stride, pads, groups)


class Shortcut(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = conv(cin, cout, 1, stride=2, padding=0)

    def forward(self, x):
        return self.conv(x)


class Stage(nn.Module):
    """residual { conv1, bn1, relu, conv2, bn2 } (+ shortcut), then the caller's ReLU."""

    def __init__(self, cin, cout, stride, size):
        super().__init__()
        self.conv1 = conv(cin, cout, 3, stride, size, "same_upper" if stride == 2 else "same")
        self.bn1 = bn(cout)
        self.conv2 = conv(cout, cout, 3)
        self.bn2 = bn(cout)
        self.shortcut = Shortcut(cin, cout) if stride == 2 else None

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        s = x if self.shortcut is None else self.shortcut(x)
        return F.relu(y + s)


class ResNet8(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = conv(3, 16, 3)
        self.bn = bn(16)
        self.stage1 = Stage(16, 16, 1, (32, 32))
        self.stage2 = Stage(16, 32, 2, (32, 32))
        self.stage3 = Stage(32, 64, 2, (16, 16))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.stage3(self.stage2(self.stage1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Separable(nn.Module):
    """depthwise 3×3 (groups = channels), bn, relu, pointwise 1×1, bn, relu."""

    def __init__(self, c):
        super().__init__()
        self.dw = conv(c, c, 3, groups=c)
        self.dw_bn = bn(c)
        self.pw = conv(c, c, 1, padding=0)
        self.pw_bn = bn(c)

    def forward(self, x):
        x = F.relu(self.dw_bn(self.dw(x)))
        return F.relu(self.pw_bn(self.pw(x)))


class DsCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = conv(1, 64, (10, 4), stride=2, size=(49, 10), padding="same_upper")
        self.bn = bn(64)
        self.blocks = nn.ModuleList(Separable(64) for _ in range(4))
        self.fc = nn.Linear(64, 12)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        for b in self.blocks:
            x = b(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class MnistRows(nn.Module):
    """28 steps of 28 features (batch first), LSTM(128), the final hidden state, dense 10."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.fc(h[-1])


MODELS = {"resnet8": ResNet8, "dscnn": DsCnn, "lstm": MnistRows}


class Files:
    """What stacknet wrote for one model."""

    def __init__(self, directory, name):
        self.dir, self.name = directory, name
        self.manifest = json.load(open(self.path("json")))
        self.shape = tuple(self.manifest["input_shape"])
        self.classes = self.manifest["classes"]

    def path(self, suffix):
        return os.path.join(self.dir, f"{self.name}.{suffix}")

    def f32(self, suffix):
        return np.fromfile(self.path(suffix), dtype="<f4")

    def inputs(self):
        return torch.from_numpy(self.f32("inputs.f32").reshape(-1, *self.shape).copy())

    def labels(self, n):
        return torch.arange(n) % self.classes

    def model(self, params="params.f32"):
        """The PyTorch model on stacknet's weights (a fresh copy each call)."""
        m = MODELS[self.name]()
        expected = [(n, tuple(s)) for n, s in self.manifest["tensors"]]
        got = [(n, tuple(p.shape)) for n, p in m.named_parameters()]
        assert got == expected, f"{self.name}: PyTorch parameters\n{got}\n!= stacknet's\n{expected}"
        flat = self.f32(params)
        assert flat.size == self.manifest["params"] == sum(p.numel() for p in m.parameters())
        at = 0
        with torch.no_grad():
            for p in m.parameters():
                n = p.numel()
                p.copy_(torch.from_numpy(flat[at:at + n].reshape(p.shape)))
                at += n
        return m


def onnx_model(m, shape, opset=17):
    """The eval-mode graph of `m` built node by node with onnx.helper. ResNet8 and DsCnn: Conv
    with its explicit (asymmetric) pads, BatchNormalization with the running statistics, Relu,
    Add, GlobalAveragePool, Flatten, Gemm. MnistRows: Transpose to ONNX's [steps, batch,
    features], one LSTM node (gates reordered from PyTorch's i, f, g, o to ONNX's i, o, f, c;
    B = [b_ih, b_hh]), its Y_h flattened into Gemm. Input "input" [1, *shape], output "logits"."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes, count = [], [], [0]

    def name(base):
        count[0] += 1
        return f"{base}_{count[0]}"

    def tensor(n, t):
        inits.append(numpy_helper.from_array(t.detach().numpy().astype(np.float32), name=n))
        return n

    def node(op, inputs, **attrs):
        out = name(op.lower())
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv_(x, c, prefix):
        w, b = tensor(prefix + ".weight", c.weight), tensor(prefix + ".bias", c.bias)
        return node("Conv", [x, w, b], kernel_shape=list(c.kernel_size), strides=list(c.stride),
                    pads=c.onnx_pads(), group=c.groups, dilations=[1, 1])

    def bn_(x, b, prefix):
        ins = [tensor(prefix + s, getattr(b, a)) for s, a in
               ((".weight", "weight"), (".bias", "bias"), (".running_mean", "running_mean"),
                (".running_var", "running_var"))]
        return node("BatchNormalization", [x, *ins], epsilon=b.eps)

    def relu(x):
        return node("Relu", [x])

    def lstm_(x, lstm, prefix):
        """A one-layer, one-direction, batch-first nn.LSTM: Y_h [1, batch, H]. ONNX stacks
        the gates i, o, f, c where PyTorch stacks i, f, g, o."""
        h = lstm.hidden_size

        def iofc(t):
            i, f, g, o = t.detach().split(h)
            return torch.cat([i, o, f, g]).unsqueeze(0)

        w = tensor(prefix + ".W", iofc(lstm.weight_ih_l0))
        r = tensor(prefix + ".R", iofc(lstm.weight_hh_l0))
        b = tensor(prefix + ".B", torch.cat([iofc(lstm.bias_ih_l0), iofc(lstm.bias_hh_l0)], 1))
        x = node("Transpose", [x], perm=[1, 0, 2])
        out = name("lstm_h")
        nodes.append(helper.make_node("LSTM", [x, w, r, b], ["", out], hidden_size=h))
        return out

    x = "input"
    if isinstance(m, MnistRows):
        x = node("Flatten", [lstm_(x, m.lstm, "lstm")], axis=2)
    else:
        x = relu(bn_(conv_(x, m.conv, "conv"), m.bn, "bn"))
        if isinstance(m, ResNet8):
            for s in ("stage1", "stage2", "stage3"):
                st = getattr(m, s)
                y = relu(bn_(conv_(x, st.conv1, s + ".conv1"), st.bn1, s + ".bn1"))
                y = bn_(conv_(y, st.conv2, s + ".conv2"), st.bn2, s + ".bn2")
                sc = x if st.shortcut is None else conv_(x, st.shortcut.conv, s + ".shortcut.conv")
                x = relu(node("Add", [y, sc]))
        else:
            for i, blk in enumerate(m.blocks):
                p = f"blocks.{i}"
                x = relu(bn_(conv_(x, blk.dw, p + ".dw"), blk.dw_bn, p + ".dw_bn"))
                x = relu(bn_(conv_(x, blk.pw, p + ".pw"), blk.pw_bn, p + ".pw_bn"))
        x = node("Flatten", [node("GlobalAveragePool", [x])], axis=1)
    w, b = tensor("fc.weight", m.fc.weight), tensor("fc.bias", m.fc.bias)
    nodes.append(helper.make_node("Gemm", [x, w, b], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes, type(m).__name__, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, *shape])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, m.fc.out_features])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="stacknet bench/tiny")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def ort_session(path):
    """onnxruntime on one thread: one intra-op thread, sequential execution, ORT_ENABLE_ALL."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def bench(fn, iters, warmup):
    """Median, p10 and p90 of per-call times in µs after `warmup` calls (as ../shared/bench's
    Python peers time)."""
    import time
    for _ in range(warmup):
        fn()
    ts = np.empty(iters)
    for i in range(iters):
        t0 = time.perf_counter_ns()
        fn()
        ts[i] = (time.perf_counter_ns() - t0) / 1e3
    return float(np.median(ts)), float(np.percentile(ts, 10)), float(np.percentile(ts, 90))


def one_thread():
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
