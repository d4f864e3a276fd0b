//! The model zoo: classic ImageNet architectures declared with the DSL at their published input
//! size (3×224×224, 1,000 classes), each checked against torchvision's published parameter
//! count, and NiN as the d2l.ai notes define it, checked against a count computed here from
//! its layer sizes.
//!
//! The architectures follow torchvision's `torchvision/models/*.py` layer for layer (biases,
//! batch-norm placement, pooling modes and all), since that is where the published counts come
//! from. The models are only type-checked: the tests read the compile-time constants
//! (`PARAMS`, `OUTPUT_SHAPE`, `LAYERS`) and never build or run a network, whose parameters
//! alone would be up to half a gigabyte. Grouped convolution (MobileNet V2) and ceil-mode
//! pooling (GoogLeNet) type-check on this branch but are not implemented by the runtime yet,
//! which is one more reason not to run them.
//!
//! Field and path names loosely follow torchvision's (`features`, `classifier`, `layer1`,
//! `denseblock1`, `inception3a.branch2`, …) so that the summaries read alike.

use stacknet::prelude::*;
use stacknet::runtime::LayerRow;

network! {
    /// AlexNet as torchvision has it ("One weird trick…", 64-192-384-256-256 filters), with the
    /// adaptive average pooling to 6×6 that is the identity at 224×224.
    ///
    /// torchvision `alexnet`: 61,100,840 parameters.
    pub struct AlexNet(input: [3, 224, 224]) {
        features: {
            conv2d(64, kernel = 11, stride = 4, padding = 2), relu,
            max_pool2d(3, stride = 2),
            conv2d(192, kernel = 5, padding = 2), relu,
            max_pool2d(3, stride = 2),
            conv2d(384, kernel = 3, padding = 1), relu,
            conv2d(256, kernel = 3, padding = 1), relu,
            conv2d(256, kernel = 3, padding = 1), relu,
            max_pool2d(3, stride = 2),
        },
        avgpool: adaptive_avg_pool2d((6, 6)),
        flatten,
        classifier: {
            dropout(0.5), dense(4096), relu,
            dropout(0.5), dense(4096), relu,
            dense(1000),
        },
    }
}

network! {
    /// VGG-11 (configuration "A", without batch norm): eight 3×3 convolutions with biases,
    /// five max pools, the adaptive pooling to 7×7 (the identity at 224×224) and the
    /// 4096-4096-1000 classifier.
    ///
    /// torchvision `vgg11`: 132,863,336 parameters.
    pub struct Vgg11(input: [3, 224, 224]) {
        features: {
            conv2d(64, kernel = 3, padding = 1), relu,
            max_pool2d(2),
            conv2d(128, kernel = 3, padding = 1), relu,
            max_pool2d(2),
            conv2d(256, kernel = 3, padding = 1), relu,
            conv2d(256, kernel = 3, padding = 1), relu,
            max_pool2d(2),
            conv2d(512, kernel = 3, padding = 1), relu,
            conv2d(512, kernel = 3, padding = 1), relu,
            max_pool2d(2),
            conv2d(512, kernel = 3, padding = 1), relu,
            conv2d(512, kernel = 3, padding = 1), relu,
            max_pool2d(2),
        },
        avgpool: adaptive_avg_pool2d((7, 7)),
        flatten,
        classifier: {
            dense(4096), relu, dropout(0.5),
            dense(4096), relu, dropout(0.5),
            dense(1000),
        },
    }
}

network! {
    /// GoogLeNet (Inception v1) exactly as torchvision builds it with `aux_logits = false`:
    /// every convolution is a `BasicConv2d` (convolution without bias, `batch_norm(eps =
    /// 0.001)`, ReLU), every max pool is in ceil mode, and branch 3 of each inception module
    /// uses a 3×3 convolution where the paper has 5×5 (torchvision issue #906, kept for the
    /// pretrained weights). `transform_input` only rescales the input channels and has no
    /// parameters.
    ///
    /// torchvision `googlenet` (without the auxiliary heads): 6,624,904 parameters.
    pub struct GoogLeNet(input: [3, 224, 224]) {
        conv1: { conv2d(64, kernel = 7, stride = 2, padding = 3, bias = false), batch_norm(eps = 0.001), relu },
        maxpool1: max_pool2d(3, stride = 2, ceil_mode = true),
        conv2: { conv2d(64, kernel = 1, bias = false), batch_norm(eps = 0.001), relu },
        conv3: { conv2d(192, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu },
        maxpool2: max_pool2d(3, stride = 2, ceil_mode = true),

        // Inception(in, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) = (192, 64, 96, 128, 16, 32, 32)
        inception3a: concat {
            branch1: { conv2d(64, kernel = 1, bias = false), batch_norm(eps = 0.001), relu },
            branch2: {
                conv2d(96, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(128, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch3: {
                conv2d(16, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(32, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch4: {
                max_pool2d(3, stride = 1, padding = 1, ceil_mode = true),
                conv2d(32, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
        },
        // (256, 128, 128, 192, 32, 96, 64)
        inception3b: concat {
            branch1: { conv2d(128, kernel = 1, bias = false), batch_norm(eps = 0.001), relu },
            branch2: {
                conv2d(128, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(192, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch3: {
                conv2d(32, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(96, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch4: {
                max_pool2d(3, stride = 1, padding = 1, ceil_mode = true),
                conv2d(64, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
        },
        maxpool3: max_pool2d(3, stride = 2, ceil_mode = true),

        // (480, 192, 96, 208, 16, 48, 64)
        inception4a: concat {
            branch1: { conv2d(192, kernel = 1, bias = false), batch_norm(eps = 0.001), relu },
            branch2: {
                conv2d(96, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(208, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch3: {
                conv2d(16, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(48, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch4: {
                max_pool2d(3, stride = 1, padding = 1, ceil_mode = true),
                conv2d(64, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
        },
        // (512, 160, 112, 224, 24, 64, 64)
        inception4b: concat {
            branch1: { conv2d(160, kernel = 1, bias = false), batch_norm(eps = 0.001), relu },
            branch2: {
                conv2d(112, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(224, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch3: {
                conv2d(24, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(64, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch4: {
                max_pool2d(3, stride = 1, padding = 1, ceil_mode = true),
                conv2d(64, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
        },
        // (512, 128, 128, 256, 24, 64, 64)
        inception4c: concat {
            branch1: { conv2d(128, kernel = 1, bias = false), batch_norm(eps = 0.001), relu },
            branch2: {
                conv2d(128, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(256, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch3: {
                conv2d(24, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(64, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch4: {
                max_pool2d(3, stride = 1, padding = 1, ceil_mode = true),
                conv2d(64, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
        },
        // (512, 112, 144, 288, 32, 64, 64)
        inception4d: concat {
            branch1: { conv2d(112, kernel = 1, bias = false), batch_norm(eps = 0.001), relu },
            branch2: {
                conv2d(144, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(288, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch3: {
                conv2d(32, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(64, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch4: {
                max_pool2d(3, stride = 1, padding = 1, ceil_mode = true),
                conv2d(64, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
        },
        // (528, 256, 160, 320, 32, 128, 128)
        inception4e: concat {
            branch1: { conv2d(256, kernel = 1, bias = false), batch_norm(eps = 0.001), relu },
            branch2: {
                conv2d(160, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(320, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch3: {
                conv2d(32, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(128, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch4: {
                max_pool2d(3, stride = 1, padding = 1, ceil_mode = true),
                conv2d(128, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
        },
        maxpool4: max_pool2d(2, stride = 2, ceil_mode = true),

        // (832, 256, 160, 320, 32, 128, 128)
        inception5a: concat {
            branch1: { conv2d(256, kernel = 1, bias = false), batch_norm(eps = 0.001), relu },
            branch2: {
                conv2d(160, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(320, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch3: {
                conv2d(32, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(128, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch4: {
                max_pool2d(3, stride = 1, padding = 1, ceil_mode = true),
                conv2d(128, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
        },
        // (832, 384, 192, 384, 48, 128, 128)
        inception5b: concat {
            branch1: { conv2d(384, kernel = 1, bias = false), batch_norm(eps = 0.001), relu },
            branch2: {
                conv2d(192, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(384, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch3: {
                conv2d(48, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
                conv2d(128, kernel = 3, padding = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
            branch4: {
                max_pool2d(3, stride = 1, padding = 1, ceil_mode = true),
                conv2d(128, kernel = 1, bias = false), batch_norm(eps = 0.001), relu,
            },
        },

        avgpool: adaptive_avg_pool2d((1, 1)),
        flatten,
        dropout(0.2),
        fc: dense(1000),
    }
}

network! {
    /// ResNet-18: BasicBlocks of two 3×3 convolutions without bias, each followed by batch
    /// norm, the sum followed by ReLU; where a stage halves the size and doubles the channels,
    /// the shortcut is torchvision's `downsample`, a strided 1×1 convolution without bias and
    /// batch norm.
    ///
    /// torchvision `resnet18`: 11,689,512 parameters.
    pub struct ResNet18(input: [3, 224, 224]) {
        conv1: conv2d(64, kernel = 7, stride = 2, padding = 3, bias = false),
        bn1: batch_norm,
        relu,
        maxpool: max_pool2d(3, stride = 2, padding = 1),
        layer1: repeat(2) {
            residual {
                conv1: conv2d(64, kernel = 3, padding = 1, bias = false), bn1: batch_norm, relu,
                conv2: conv2d(64, kernel = 3, padding = 1, bias = false), bn2: batch_norm,
            },
            relu,
        },
        layer2: {
            block0: residual(shortcut = { conv2d(128, kernel = 1, stride = 2, bias = false), batch_norm }) {
                conv1: conv2d(128, kernel = 3, stride = 2, padding = 1, bias = false), bn1: batch_norm, relu,
                conv2: conv2d(128, kernel = 3, padding = 1, bias = false), bn2: batch_norm,
            },
            relu,
            block1: residual {
                conv1: conv2d(128, kernel = 3, padding = 1, bias = false), bn1: batch_norm, relu,
                conv2: conv2d(128, kernel = 3, padding = 1, bias = false), bn2: batch_norm,
            },
            relu,
        },
        layer3: {
            block0: residual(shortcut = { conv2d(256, kernel = 1, stride = 2, bias = false), batch_norm }) {
                conv1: conv2d(256, kernel = 3, stride = 2, padding = 1, bias = false), bn1: batch_norm, relu,
                conv2: conv2d(256, kernel = 3, padding = 1, bias = false), bn2: batch_norm,
            },
            relu,
            block1: residual {
                conv1: conv2d(256, kernel = 3, padding = 1, bias = false), bn1: batch_norm, relu,
                conv2: conv2d(256, kernel = 3, padding = 1, bias = false), bn2: batch_norm,
            },
            relu,
        },
        layer4: {
            block0: residual(shortcut = { conv2d(512, kernel = 1, stride = 2, bias = false), batch_norm }) {
                conv1: conv2d(512, kernel = 3, stride = 2, padding = 1, bias = false), bn1: batch_norm, relu,
                conv2: conv2d(512, kernel = 3, padding = 1, bias = false), bn2: batch_norm,
            },
            relu,
            block1: residual {
                conv1: conv2d(512, kernel = 3, padding = 1, bias = false), bn1: batch_norm, relu,
                conv2: conv2d(512, kernel = 3, padding = 1, bias = false), bn2: batch_norm,
            },
            relu,
        },
        avgpool: adaptive_avg_pool2d((1, 1)),
        flatten,
        fc: dense(1000),
    }
}

network! {
    /// DenseNet-121 (DenseNet-BC, growth 32, bottleneck 4 × 32 = 128, blocks of 6, 12, 24
    /// and 16 layers). A dense layer appends its 32 new channels to its input, which `concat`
    /// does with the identity first, as torchvision's `torch.cat([features, new_features])`;
    /// a transition halves the channels (batch norm, ReLU, 1×1 convolution without bias) and
    /// the size (average pooling 2). torchvision ends with `norm5`, a ReLU, global average
    /// pooling and the classifier.
    ///
    /// torchvision `densenet121`: 7,978,856 parameters.
    pub struct DenseNet121(input: [3, 224, 224]) {
        conv0: conv2d(64, kernel = 7, stride = 2, padding = 3, bias = false),
        norm0: batch_norm,
        relu0: relu,
        pool0: max_pool2d(3, stride = 2, padding = 1),
        // 64 + 6·32 = 256 channels at 56×56.
        denseblock1: repeat(6) {
            concat {
                {},
                {
                    norm1: batch_norm, relu1: relu, conv1: conv2d(128, 1, bias = false),
                    norm2: batch_norm, relu2: relu, conv2: conv2d(32, 3, padding = 1, bias = false),
                },
            },
        },
        transition1: { norm: batch_norm, relu, conv: conv2d(128, 1, bias = false), pool: avg_pool2d(2) },
        // 128 + 12·32 = 512 at 28×28.
        denseblock2: repeat(12) {
            concat {
                {},
                {
                    norm1: batch_norm, relu1: relu, conv1: conv2d(128, 1, bias = false),
                    norm2: batch_norm, relu2: relu, conv2: conv2d(32, 3, padding = 1, bias = false),
                },
            },
        },
        transition2: { norm: batch_norm, relu, conv: conv2d(256, 1, bias = false), pool: avg_pool2d(2) },
        // 256 + 24·32 = 1024 at 14×14.
        denseblock3: repeat(24) {
            concat {
                {},
                {
                    norm1: batch_norm, relu1: relu, conv1: conv2d(128, 1, bias = false),
                    norm2: batch_norm, relu2: relu, conv2: conv2d(32, 3, padding = 1, bias = false),
                },
            },
        },
        transition3: { norm: batch_norm, relu, conv: conv2d(512, 1, bias = false), pool: avg_pool2d(2) },
        // 512 + 16·32 = 1024 at 7×7.
        denseblock4: repeat(16) {
            concat {
                {},
                {
                    norm1: batch_norm, relu1: relu, conv1: conv2d(128, 1, bias = false),
                    norm2: batch_norm, relu2: relu, conv2: conv2d(32, 3, padding = 1, bias = false),
                },
            },
        },
        norm5: batch_norm,
        relu,
        adaptive_avg_pool2d((1, 1)),
        flatten,
        classifier: dense(1000),
    }
}

network! {
    /// MobileNet V2 (width 1.0): `ConvNormActivation` is a convolution without bias, batch
    /// norm and ReLU6; an inverted residual expands with a 1×1 convolution (except in the
    /// first block, whose expansion is 1), filters with a depthwise 3×3 convolution (`groups`
    /// = its channels) carrying the stride, and projects linearly with a 1×1 convolution and
    /// batch norm; only blocks with stride 1 and as many input as output channels add their
    /// input. Settings (t, c, n, s): (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2),
    /// (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1); last convolution 1280,
    /// then global average pooling, dropout 0.2 and the classifier.
    ///
    /// torchvision `mobilenet_v2`: 3,504,872 parameters.
    pub struct MobileNetV2(input: [3, 224, 224]) {
        features: {
            stem: { conv2d(32, kernel = 3, stride = 2, padding = 1, bias = false), batch_norm, relu6 },
            // t = 1: no expansion; 32 → 16 channels, so no residual.
            block1: {
                conv2d(32, kernel = 3, padding = 1, groups = 32, bias = false), batch_norm, relu6,
                conv2d(16, kernel = 1, bias = false), batch_norm,
            },
            // (6, 24, 2, 2)
            block2: {
                conv2d(96, kernel = 1, bias = false), batch_norm, relu6,
                conv2d(96, kernel = 3, stride = 2, padding = 1, groups = 96, bias = false), batch_norm, relu6,
                conv2d(24, kernel = 1, bias = false), batch_norm,
            },
            block3: residual {
                conv2d(144, kernel = 1, bias = false), batch_norm, relu6,
                conv2d(144, kernel = 3, padding = 1, groups = 144, bias = false), batch_norm, relu6,
                conv2d(24, kernel = 1, bias = false), batch_norm,
            },
            // (6, 32, 3, 2)
            block4: {
                conv2d(144, kernel = 1, bias = false), batch_norm, relu6,
                conv2d(144, kernel = 3, stride = 2, padding = 1, groups = 144, bias = false), batch_norm, relu6,
                conv2d(32, kernel = 1, bias = false), batch_norm,
            },
            block5: repeat(2) {
                residual {
                    conv2d(192, kernel = 1, bias = false), batch_norm, relu6,
                    conv2d(192, kernel = 3, padding = 1, groups = 192, bias = false), batch_norm, relu6,
                    conv2d(32, kernel = 1, bias = false), batch_norm,
                },
            },
            // (6, 64, 4, 2)
            block7: {
                conv2d(192, kernel = 1, bias = false), batch_norm, relu6,
                conv2d(192, kernel = 3, stride = 2, padding = 1, groups = 192, bias = false), batch_norm, relu6,
                conv2d(64, kernel = 1, bias = false), batch_norm,
            },
            block8: repeat(3) {
                residual {
                    conv2d(384, kernel = 1, bias = false), batch_norm, relu6,
                    conv2d(384, kernel = 3, padding = 1, groups = 384, bias = false), batch_norm, relu6,
                    conv2d(64, kernel = 1, bias = false), batch_norm,
                },
            },
            // (6, 96, 3, 1): stride 1, but 64 → 96 channels, so the first has no residual.
            block11: {
                conv2d(384, kernel = 1, bias = false), batch_norm, relu6,
                conv2d(384, kernel = 3, padding = 1, groups = 384, bias = false), batch_norm, relu6,
                conv2d(96, kernel = 1, bias = false), batch_norm,
            },
            block12: repeat(2) {
                residual {
                    conv2d(576, kernel = 1, bias = false), batch_norm, relu6,
                    conv2d(576, kernel = 3, padding = 1, groups = 576, bias = false), batch_norm, relu6,
                    conv2d(96, kernel = 1, bias = false), batch_norm,
                },
            },
            // (6, 160, 3, 2)
            block14: {
                conv2d(576, kernel = 1, bias = false), batch_norm, relu6,
                conv2d(576, kernel = 3, stride = 2, padding = 1, groups = 576, bias = false), batch_norm, relu6,
                conv2d(160, kernel = 1, bias = false), batch_norm,
            },
            block15: repeat(2) {
                residual {
                    conv2d(960, kernel = 1, bias = false), batch_norm, relu6,
                    conv2d(960, kernel = 3, padding = 1, groups = 960, bias = false), batch_norm, relu6,
                    conv2d(160, kernel = 1, bias = false), batch_norm,
                },
            },
            // (6, 320, 1, 1): 160 → 320, no residual.
            block17: {
                conv2d(960, kernel = 1, bias = false), batch_norm, relu6,
                conv2d(960, kernel = 3, padding = 1, groups = 960, bias = false), batch_norm, relu6,
                conv2d(320, kernel = 1, bias = false), batch_norm,
            },
            head: { conv2d(1280, kernel = 1, bias = false), batch_norm, relu6 },
        },
        adaptive_avg_pool2d((1, 1)),
        flatten,
        classifier: { dropout(0.2), dense(1000) },
    }
}

network! {
    /// Network in Network as the d2l.ai notes define it (section "Network in Network"), for
    /// 1×224×224 Fashion-MNIST upscaled: `nin_block(out, kernel, stride, padding)` is a
    /// convolution and ReLU followed by two 1×1 convolutions with ReLU; the last block has
    /// one channel per class and global average pooling replaces the dense layers.
    pub struct Nin(input: [1, 224, 224]) {
        block1: {
            conv2d(96, kernel = 11, stride = 4, padding = 0), relu,
            conv2d(96, kernel = 1), relu,
            conv2d(96, kernel = 1), relu,
        },
        max_pool2d(3, stride = 2),
        block2: {
            conv2d(256, kernel = 5, stride = 1, padding = 2), relu,
            conv2d(256, kernel = 1), relu,
            conv2d(256, kernel = 1), relu,
        },
        max_pool2d(3, stride = 2),
        block3: {
            conv2d(384, kernel = 3, stride = 1, padding = 1), relu,
            conv2d(384, kernel = 1), relu,
            conv2d(384, kernel = 1), relu,
        },
        max_pool2d(3, stride = 2),
        dropout(0.5),
        block4: {
            conv2d(10, kernel = 3, stride = 1, padding = 1), relu,
            conv2d(10, kernel = 1), relu,
            conv2d(10, kernel = 1), relu,
        },
        adaptive_avg_pool2d((1, 1)),
        flatten,
    }
}

/// The rows of one kind.
fn count(rows: &[LayerRow], kind: &str) -> usize {
    rows.iter().filter(|row| row.kind == kind).count()
}

/// Checks what every zoo model shares: the parameter count, the per-layer rows adding up to
/// it, the output shape and the number of convolutions and dense layers (the depth the
/// model's name counts, for ResNet, VGG and DenseNet).
fn check<N: Network<f32>>(params: usize, output: &[usize], convs: usize, dense: usize) {
    assert_eq!(N::PARAMS, params, "parameters");
    let rows: usize = N::LAYERS.iter().map(|row| row.params).sum();
    assert_eq!(rows, N::PARAMS, "the rows' parameters add up to PARAMS");
    assert_eq!(N::OUTPUT_SHAPE.dims(), output, "output shape");
    assert_eq!(count(N::LAYERS, "conv2d"), convs, "convolutions");
    assert_eq!(count(N::LAYERS, "dense"), dense, "dense layers");
}

#[test]
fn alexnet_has_torchvisions_parameter_count() {
    assert_eq!(AlexNet::<f32>::INPUT_SHAPE.dims(), [3, 224, 224]);
    check::<AlexNet>(61_100_840, &[1000], 5, 3);
    // The classifier holds most of it: 9216·4096 + 4096 + 4096·4096 + 4096 + 4096·1000 + 1000.
    let classifier = 9216 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000;
    let dense: usize = AlexNet::<f32>::LAYERS
        .iter()
        .filter(|row| row.kind == "dense")
        .map(|row| row.params)
        .sum();
    assert_eq!(dense, classifier);
}

#[test]
fn vgg11_has_torchvisions_parameter_count() {
    check::<Vgg11>(132_863_336, &[1000], 8, 3);
}

#[test]
fn googlenet_has_torchvisions_parameter_count() {
    // 3 stem convolutions and 6 in each of the 9 inception modules.
    check::<GoogLeNet>(6_624_904, &[1000], 3 + 9 * 6, 1);
    // Channels after each inception module: the sum of its four branches.
    let concat: Vec<usize> = GoogLeNet::<f32>::LAYERS
        .iter()
        .filter(|row| row.kind == "concat")
        .map(|row| row.output.dims()[0])
        .collect();
    assert_eq!(concat, [256, 480, 512, 512, 512, 528, 832, 832, 1024]);
    // The ceil-mode pools give torchvision's sizes: 112 → 56 → 28 → 14 → 7.
    let pools: Vec<usize> = GoogLeNet::<f32>::LAYERS
        .iter()
        .filter(|row| row.name.starts_with("maxpool"))
        .map(|row| row.output.dims()[1])
        .collect();
    assert_eq!(pools, [56, 28, 14, 7]);
}

#[test]
fn resnet18_has_torchvisions_parameter_count() {
    // 17 weighted convolutions and the classifier (the 18 of the name), plus 3 projections.
    check::<ResNet18>(11_689_512, &[1000], 17 + 3, 1);
    assert_eq!(count(ResNet18::<f32>::LAYERS, "add"), 8);
}

#[test]
fn densenet121_has_torchvisions_parameter_count() {
    // 1 + 2·(6 + 12 + 24 + 16) + 3 = 120 convolutions and the classifier: the 121.
    check::<DenseNet121>(7_978_856, &[1000], 120, 1);
    let concat: Vec<usize> = DenseNet121::<f32>::LAYERS
        .iter()
        .filter(|row| row.kind == "concat")
        .map(|row| row.output.dims()[0])
        .collect();
    assert_eq!(concat.len(), 58);
    // Each block ends with 256, 512, 1024 and 1024 channels.
    let ends: Vec<usize> = [6, 18, 42, 58].iter().map(|&i| concat[i - 1]).collect();
    assert_eq!(ends, [256, 512, 1024, 1024]);
}

#[test]
fn mobilenet_v2_has_torchvisions_parameter_count() {
    // Stem, 17 blocks (16 with an expansion: 3 convolutions; the first 2) and the head.
    check::<MobileNetV2>(3_504_872, &[1000], 1 + 2 + 16 * 3 + 1, 1);
    // Residuals where stride is 1 and channels stay: 1 + 2 + 3 + 2 + 2.
    assert_eq!(count(MobileNetV2::<f32>::LAYERS, "add"), 10);
}

#[test]
fn nin_has_the_parameters_its_layer_sizes_give() {
    /// A convolution with bias: out·(in·k·k + 1).
    fn conv(input: usize, out: usize, kernel: usize) -> usize {
        out * (input * kernel * kernel + 1)
    }
    /// d2l's `nin_block`: the convolution, then two 1×1 convolutions.
    fn nin_block(input: usize, out: usize, kernel: usize) -> usize {
        conv(input, out, kernel) + 2 * conv(out, out, 1)
    }
    let expected = nin_block(1, 96, 11)
        + nin_block(96, 256, 5)
        + nin_block(256, 384, 3)
        + nin_block(384, 10, 3);
    assert_eq!(expected, 1_992_166);
    check::<Nin>(expected, &[10], 12, 0);
    // 224 → 54 → 26 → 12 → 5 between the blocks, as d2l's shape printout shows.
    let sizes: Vec<usize> = Nin::<f32>::LAYERS
        .iter()
        .filter(|row| row.kind == "max_pool2d")
        .map(|row| row.output.dims()[1])
        .collect();
    assert_eq!(sizes, [26, 12, 5]);
}
