"""PyTorch versions of d2l's CNNs, for convzoo's reference outputs.

Written for convzoo from the architectures of "Dive into Deep Learning" (LeNet and the
modern-CNN chapter: AlexNet, VGG, NiN, GoogLeNet, batch norm, ResNet, ResNeXt, DenseNet,
AnyNet and RegNetX-32), with explicit input channels instead of lazy modules. Module nesting follows d2l's, so `state_dict()` keys
(`net.<index or block name>....`) are d2l's and weights move between the two unchanged. Every
model reads one channel (Fashion-MNIST) and returns 10 logits. Besides d2l's ten models there
are three larger relatives: VGG-16, ResNet-34 and GoogLeNet with batch norm after every conv.

    python d2l_models.py [NAME ...]   # d2l-style layer summaries and parameter counts
"""
import sys

import torch
from torch import nn
from torch.nn import functional as F

CLASSES = 10


class Classifier(nn.Module):
    """A network kept in `self.net`, as d2l's classifiers keep theirs."""

    def forward(self, x):
        return self.net(x)


def conv(cin, cout, k, stride=1, pad=0):
    return nn.Conv2d(cin, cout, kernel_size=k, stride=stride, padding=pad)


def conv_bn(cin, cout, k, stride=1, pad=0):
    """A conv followed by its batch norm, as one Sequential (keys `.0.*` and `.1.*`)."""
    return nn.Sequential(conv(cin, cout, k, stride, pad), nn.BatchNorm2d(cout))


# ---------------------------------------------------------------- LeNet and BN-LeNet


class LeNet(Classifier):
    """LeNet-5: sigmoid activations and average pooling, 28x28 input."""

    def __init__(self):
        super().__init__()
        pool = lambda: nn.AvgPool2d(kernel_size=2, stride=2)
        self.net = nn.Sequential(
            conv(1, 6, 5, pad=2), nn.Sigmoid(), pool(),
            conv(6, 16, 5), nn.Sigmoid(), pool(),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
            nn.Linear(120, 84), nn.Sigmoid(),
            nn.Linear(84, CLASSES))


class BNLeNet(Classifier):
    """LeNet with batch norm before every sigmoid; the first conv is unpadded (28 -> 24)."""

    def __init__(self):
        super().__init__()
        pool = lambda: nn.AvgPool2d(kernel_size=2, stride=2)
        self.net = nn.Sequential(
            conv(1, 6, 5), nn.BatchNorm2d(6), nn.Sigmoid(), pool(),
            conv(6, 16, 5), nn.BatchNorm2d(16), nn.Sigmoid(), pool(),
            nn.Flatten(),
            nn.Linear(16 * 4 * 4, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
            nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
            nn.Linear(84, CLASSES))


# ---------------------------------------------------------------- AlexNet and VGG


def dense_head(features):
    """The two 4096-wide hidden layers with dropout that AlexNet and VGG end with."""
    return [nn.Linear(features, 4096), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(4096, CLASSES)]


class AlexNet(Classifier):
    """AlexNet for 224x224 single-channel input (first conv padded by 1: 54x54)."""

    def __init__(self):
        super().__init__()
        pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2)
        self.net = nn.Sequential(
            conv(1, 96, 11, stride=4, pad=1), nn.ReLU(), pool(),
            conv(96, 256, 5, pad=2), nn.ReLU(), pool(),
            conv(256, 384, 3, pad=1), nn.ReLU(),
            conv(384, 384, 3, pad=1), nn.ReLU(),
            conv(384, 256, 3, pad=1), nn.ReLU(), pool(),
            nn.Flatten(),
            *dense_head(256 * 5 * 5))


def vgg_stage(cin, cout, convs):
    """`convs` 3x3 convs with ReLU, then a 2x2 max pool halving the size."""
    layers = []
    for i in range(convs):
        layers += [conv(cin if i == 0 else cout, cout, 3, pad=1), nn.ReLU()]
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


VGG11 = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))
VGG11_SMALL = tuple((n, c // 4) for n, c in VGG11)  # the narrow VGG-11 d2l trains
VGG16 = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


class VGG(Classifier):
    """VGG from (convs, channels) per stage, 224x224 input."""

    def __init__(self, arch, size=224):
        super().__init__()
        stages, cin = [], 1
        for convs, cout in arch:
            stages.append(vgg_stage(cin, cout, convs))
            cin, size = cout, size // 2
        self.net = nn.Sequential(*stages, nn.Flatten(), *dense_head(cin * size * size))


# ---------------------------------------------------------------- NiN


def nin_block(cin, cout, k, stride, pad):
    """A k x k conv and two 1x1 convs, each followed by ReLU."""
    return nn.Sequential(conv(cin, cout, k, stride, pad), nn.ReLU(),
                         conv(cout, cout, 1), nn.ReLU(),
                         conv(cout, cout, 1), nn.ReLU())


class NiN(Classifier):
    """Network in Network: no dense layers, a 10-channel NiN block and global average pooling."""

    def __init__(self):
        super().__init__()
        pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2)
        self.net = nn.Sequential(
            nin_block(1, 96, 11, 4, 0), pool(),
            nin_block(96, 256, 5, 1, 2), pool(),
            nin_block(256, 384, 3, 1, 1), pool(),
            nn.Dropout(0.5),
            nin_block(384, CLASSES, 3, 1, 1),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())


# ---------------------------------------------------------------- GoogLeNet


class Inception(nn.Module):
    """Four parallel branches concatenated on channels: 1x1; 1x1 then 3x3; 1x1 then 5x5;
    3x3 max pool then 1x1. Every branch ends in ReLU. With `bn`, every conv is a
    Sequential(conv, BatchNorm2d) and the ReLUs follow the batch norms."""

    def __init__(self, cin, c1, c2, c3, c4, bn=False):
        super().__init__()
        unit = conv_bn if bn else conv
        self.b1_1 = unit(cin, c1, 1)
        self.b2_1 = unit(cin, c2[0], 1)
        self.b2_2 = unit(c2[0], c2[1], 3, pad=1)
        self.b3_1 = unit(cin, c3[0], 1)
        self.b3_2 = unit(c3[0], c3[1], 5, pad=2)
        self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.b4_2 = unit(cin, c4, 1)
        self.out_channels = c1 + c2[1] + c3[1] + c4

    def forward(self, x):
        paths = (
            F.relu(self.b1_1(x)),
            F.relu(self.b2_2(F.relu(self.b2_1(x)))),
            F.relu(self.b3_2(F.relu(self.b3_1(x)))),
            F.relu(self.b4_2(self.b4_1(x))),
        )
        return torch.cat(paths, dim=1)


class InceptionBN(Inception):
    """Inception with a batch norm after every conv."""

    def __init__(self, cin, c1, c2, c3, c4):
        super().__init__(cin, c1, c2, c3, c4, bn=True)


# (c1, (c2 reduce, c2), (c3 reduce, c3), c4) of every Inception block, by stage.
INCEPTION_STAGES = (
    ((64, (96, 128), (16, 32), 32),
     (128, (128, 192), (32, 96), 64)),
    ((192, (96, 208), (16, 48), 64),
     (160, (112, 224), (24, 64), 64),
     (128, (128, 256), (24, 64), 64),
     (112, (144, 288), (32, 64), 64),
     (256, (160, 320), (32, 128), 128)),
    ((256, (160, 320), (32, 128), 128),
     (384, (192, 384), (48, 128), 128)),
)


class GoogLeNet(Classifier):
    """GoogLeNet for 96x96 input: a stem of two stages, three stages of Inception blocks
    (the last ending in global average pooling), then one linear layer. `bn` puts a batch
    norm after every conv, before its ReLU."""

    def __init__(self, bn=False):
        super().__init__()
        block = InceptionBN if bn else Inception

        def conv_relu(cin, cout, k, stride=1, pad=0):
            if bn:
                return [conv(cin, cout, k, stride, pad), nn.BatchNorm2d(cout), nn.ReLU()]
            return [conv(cin, cout, k, stride, pad), nn.ReLU()]

        pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        stages = [
            nn.Sequential(*conv_relu(1, 64, 7, stride=2, pad=3), pool()),
            nn.Sequential(*conv_relu(64, 64, 1), *conv_relu(64, 192, 3, pad=1), pool()),
        ]
        cin = 192
        for i, specs in enumerate(INCEPTION_STAGES):
            blocks = []
            for spec in specs:
                blocks.append(block(cin, *spec))
                cin = blocks[-1].out_channels
            last = i == len(INCEPTION_STAGES) - 1
            tail = [nn.AdaptiveAvgPool2d(1), nn.Flatten()] if last else [pool()]
            stages.append(nn.Sequential(*blocks, *tail))
        self.net = nn.Sequential(*stages, nn.Linear(cin, CLASSES))


# ---------------------------------------------------------------- ResNet


class Residual(nn.Module):
    """d2l's residual block: two 3x3 convs (with biases) with batch norm; when the shape
    changes, the shortcut is a strided 1x1 conv without batch norm."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = conv(cin, cout, 3, stride=stride, pad=1)
        self.conv2 = conv(cout, cout, 3, pad=1)
        self.conv3 = conv(cin, cout, 1, stride=stride) if stride != 1 or cin != cout else None
        self.bn1 = nn.BatchNorm2d(cout)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = x if self.conv3 is None else self.conv3(x)
        return F.relu(y + shortcut)


class ResNet(Classifier):
    """ResNet for 96x96 input from (residual blocks, channels) per stage; every stage after
    the first starts by halving the size. Stages are named b2, b3, ... and the head `last`."""

    def __init__(self, arch):
        super().__init__()
        self.net = nn.Sequential(nn.Sequential(
            conv(1, 64, 7, stride=2, pad=3), nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1)))
        cin = 64
        for i, (blocks, cout) in enumerate(arch):
            stage = []
            for j in range(blocks):
                stride = 2 if j == 0 and i > 0 else 1
                stage.append(Residual(cin, cout, stride))
                cin = cout
            self.net.add_module(f"b{i + 2}", nn.Sequential(*stage))
        self.net.add_module("last", nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, CLASSES)))


RESNET18 = ((2, 64), (2, 128), (2, 256), (2, 512))
RESNET34 = ((3, 64), (4, 128), (6, 256), (3, 512))


# ---------------------------------------------------------------- DenseNet


def bn_relu_conv(cin, cout, k, pad=0):
    return [nn.BatchNorm2d(cin), nn.ReLU(), conv(cin, cout, k, pad=pad)]


class DenseBlock(nn.Module):
    """Convs (BN, ReLU, 3x3) whose outputs are appended to their inputs on channels."""

    def __init__(self, convs, cin, growth):
        super().__init__()
        self.net = nn.Sequential(*(nn.Sequential(*bn_relu_conv(cin + i * growth, growth, 3, pad=1))
                                   for i in range(convs)))
        self.out_channels = cin + convs * growth

    def forward(self, x):
        for layer in self.net:
            x = torch.cat((x, layer(x)), dim=1)
        return x


class DenseNet(Classifier):
    """DenseNet for 96x96 input: dense blocks of growth 32, transitions (BN, ReLU, 1x1,
    2x2 average pool) halving channels and size, then BN, ReLU, global pooling, linear."""

    def __init__(self, channels=64, growth=32, arch=(4, 4, 4, 4)):
        super().__init__()
        self.net = nn.Sequential(nn.Sequential(
            conv(1, channels, 7, stride=2, pad=3), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1)))
        for i, convs in enumerate(arch):
            block = DenseBlock(convs, channels, growth)
            self.net.add_module(f"dense_blk{i + 1}", block)
            channels = block.out_channels
            if i + 1 < len(arch):
                half = channels // 2
                self.net.add_module(f"tran_blk{i + 1}", nn.Sequential(
                    *bn_relu_conv(channels, half, 1), nn.AvgPool2d(kernel_size=2, stride=2)))
                channels = half
        self.net.add_module("last", nn.Sequential(
            nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(channels, CLASSES)))


# ---------------------------------------------------------------- ResNeXt, AnyNet, RegNetX


class ResNeXtBlock(nn.Module):
    """d2l's ResNeXt block: 1x1 to `round(cout * bot_mul)` channels, a 3x3 convolution in groups
    `group_width` channels wide (so `bot // group_width` groups), 1x1 back to `cout`, each with
    batch norm; the shortcut is a strided 1x1 conv with batch norm when `use_1x1conv`."""

    def __init__(self, cin, cout, group_width, bot_mul, use_1x1conv=False, stride=1):
        super().__init__()
        bot = int(round(cout * bot_mul))
        self.conv1 = conv(cin, bot, 1)
        self.conv2 = nn.Conv2d(bot, bot, kernel_size=3, stride=stride, padding=1,
                               groups=bot // group_width)
        self.conv3 = conv(bot, cout, 1)
        self.bn1 = nn.BatchNorm2d(bot)
        self.bn2 = nn.BatchNorm2d(bot)
        self.bn3 = nn.BatchNorm2d(cout)
        if use_1x1conv:
            self.conv4 = conv(cin, cout, 1, stride=stride)
            self.bn4 = nn.BatchNorm2d(cout)
        else:
            self.conv4 = None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        if self.conv4 is not None:
            x = self.bn4(self.conv4(x))
        return F.relu(y + x)


class AnyNet(Classifier):
    """d2l's AnyNet: a stem (3x3 stride-2 conv, BN, ReLU) at `net.0`, stages `stage1`, ...
    of ResNeXt blocks (the first of each with a strided 1x1 shortcut), and a `head` of global
    pooling, flatten and linear. `arch` holds (depth, width, group width, bottleneck ratio)."""

    def __init__(self, arch, stem_channels):
        super().__init__()
        self.net = nn.Sequential(nn.Sequential(
            conv(1, stem_channels, 3, stride=2, pad=1), nn.BatchNorm2d(stem_channels), nn.ReLU()))
        cin = stem_channels
        for i, (depth, cout, group_width, bot_mul) in enumerate(arch):
            blocks = []
            for j in range(depth):
                first = j == 0
                blocks.append(ResNeXtBlock(cin, cout, group_width, bot_mul,
                                           use_1x1conv=first, stride=2 if first else 1))
                cin = cout
            self.net.add_module(f"stage{i + 1}", nn.Sequential(*blocks))
        self.net.add_module("head", nn.Sequential(
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(cin, CLASSES)))


# RegNetX-32: stem 32, group width 16, bottleneck ratio 1, depths (4, 6), widths (32, 80).
REGNETX32 = ((4, 32, 16, 1), (6, 80, 16, 1))


# ---------------------------------------------------------------- registry

# name -> (constructor, input resolution, benchmark batch size)
MODELS = {
    "lenet": (LeNet, 28, 256),
    "bn_lenet": (BNLeNet, 28, 256),
    "alexnet": (AlexNet, 224, 32),
    "vgg11": (lambda: VGG(VGG11), 224, 32),
    "vgg11_small": (lambda: VGG(VGG11_SMALL), 224, 32),
    "nin": (NiN, 224, 32),
    "googlenet": (GoogLeNet, 96, 64),
    "resnet18": (lambda: ResNet(RESNET18), 96, 64),
    "densenet": (DenseNet, 96, 64),
    "vgg16": (lambda: VGG(VGG16), 224, 32),
    "resnet34": (lambda: ResNet(RESNET34), 96, 64),
    "googlenet_bn": (lambda: GoogLeNet(bn=True), 96, 64),
    "regnetx32": (lambda: AnyNet(REGNETX32, 32), 96, 64),
}


def build(name, init="xavier", seed=None):
    """Model `name` in training mode, with its resolution and benchmark batch size.

    `seed` seeds torch's global generator before construction. init "xavier" redraws every
    Conv2d and Linear weight Xavier-uniform (biases keep PyTorch's default), as d2l trains;
    "default" keeps PyTorch's initialisation."""
    if init not in ("xavier", "default"):
        raise ValueError(f"init must be 'xavier' or 'default', not {init!r}")
    ctor, resolution, batch = MODELS[name]
    if seed is not None:
        torch.manual_seed(seed)
    model = ctor()
    if init == "xavier":
        for m in model.modules():
            if type(m) in (nn.Conv2d, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
    model.train()
    return model, resolution, batch


def num_params(model):
    return sum(p.numel() for p in model.parameters())


def layer_summary(model, resolution):
    """The output shape after each top-level layer of `model.net`, for one random image."""
    x = torch.randn(1, 1, resolution, resolution)
    lines = []
    for layer in model.net:
        x = layer(x)
        lines.append(f"{type(layer).__name__} output shape:\t {x.shape}")
    return lines


def main(names):
    torch.set_num_threads(1)
    for name in names or MODELS:
        model, res, _ = build(name)
        print(f"== {name}: input (1, 1, {res}, {res}), params {num_params(model):,}")
        model.eval()
        with torch.no_grad():
            print("\n".join(layer_summary(model, res)))


if __name__ == "__main__":
    main(sys.argv[1:])
