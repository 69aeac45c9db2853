"""Model families of the live backend: MLP, the FGHPO CNNs (Table 3) and a ResNet-20.

Every model splits into ``features(x) -> a`` (shape (batch, d): the input activation of the last layer, written
a^[L-1] in FGHPO's proof of Theorem 1 and the FC-layer input of AGN eq. 5) and ``head``, a ``torch.nn.Linear(d,
n_classes)`` producing the logits z^[L] = W a + b, so ``forward(x) == head(features(x))``. The proxies read ``a`` and
``head.weight`` directly; no hooks are needed.

Randomness: models are constructed on the ``meta`` device and initialised by :func:`init_parameters` from a
``torch.Generator`` (PyTorch's default schemes: Kaiming-uniform with ``a=sqrt(5)`` for weights, U(-1/sqrt(fan_in),
1/sqrt(fan_in)) for biases), and dropout draws its masks from the model's generator (:class:`SeededDropout`), so no
global torch RNG is read or advanced.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import InvalidParameterError, check_choice, check_float, check_int, unknown_name

__all__ = ["MLP", "FGHPOCNN", "ResNet20", "SeededDropout", "MODEL_FAMILIES", "build_model", "init_parameters",
           "set_generator"]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU,
               "gelu": nn.GELU, "selu": nn.SELU}


class SeededDropout(nn.Module):
    """Inverted dropout whose Bernoulli masks come from an explicit ``torch.Generator`` (``self.generator``).

    Identical in distribution to ``torch.nn.Dropout`` but reproducible without a global RNG; identity in eval mode.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = float(p)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.generator is None:
            raise RuntimeError("SeededDropout needs a generator: call lcsim.live.models.set_generator(model, g).")
        keep = 1.0 - self.p
        mask = torch.rand(x.shape, generator=self.generator, device=x.device, dtype=x.dtype) < keep
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


def set_generator(model: nn.Module, generator: torch.Generator) -> None:
    """Give every :class:`SeededDropout` of ``model`` the generator it draws masks from."""
    for m in model.modules():
        if isinstance(m, SeededDropout):
            m.generator = generator


@torch.no_grad()
def init_parameters(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """(Re-)initialise every Linear/Conv/BatchNorm of ``model`` from ``generator`` with PyTorch's default schemes.

    Modules are visited in ``model.modules()`` order, so the result depends only on the architecture and the
    generator's seed.
    """
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            fan_in = m.weight[0].numel()
            # kaiming_uniform_(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's Linear/Conv default)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            m.weight.uniform_(-bound, bound, generator=generator)
            if m.bias is not None:
                m.bias.uniform_(-bound, bound, generator=generator)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.reset_running_stats()
            if m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()
    return model


class _Base(nn.Module):
    head: nn.Linear

    def features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class MLP(_Base):
    """Fully connected network: ``num_layers`` hidden blocks [Linear -> (BatchNorm) -> activation -> (Dropout)]
    of ``units`` each, then the linear head (LCBench's funnel-free "shaped MLP" with a constant width).

    Args:
        n_features: input size (inputs of shape (batch, ...) are flattened).
        n_classes: number of classes (>= 2).
        num_layers: hidden layers, >= 0 (0 gives multinomial logistic regression; a^[L-1] is then the input).
        units: width of every hidden layer, >= 1.
        activation: one of ``relu, tanh, elu, sigmoid, leaky_relu, gelu, selu``.
        batch_norm: BatchNorm1d after each hidden Linear.
        dropout: dropout rate in [0, 1) after each hidden activation.
    """

    def __init__(self, n_features: int, n_classes: int, num_layers: int = 2, units: int = 64,
                 activation: str = "relu", batch_norm: bool = False, dropout: float = 0.0):
        super().__init__()
        owner = "MLP"
        n_features = check_int(owner, "n_features", n_features, 1)
        n_classes = check_int(owner, "n_classes", n_classes, 2)
        num_layers = check_int(owner, "num_layers", num_layers, 0, 64)
        units = check_int(owner, "units", units, 1, 1 << 16)
        if activation not in ACTIVATIONS:
            raise unknown_name("activation", activation, ACTIVATIONS)
        dropout = check_float(owner, "dropout", dropout, 0.0, 1.0, closed="left")
        layers: list[nn.Module] = [nn.Flatten()]
        width = n_features
        for _ in range(num_layers):
            layers.append(nn.Linear(width, units))
            if batch_norm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(SeededDropout(dropout))
            width = units
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _conv_out(size: int, kernel: int, padding: str) -> int:
    return size if padding == "same" else size - kernel + 1


class FGHPOCNN(_Base):
    """The convolutional networks of FGHPO section 4 / Table 3.

    ``variant="mnist"``: ``num_blocks`` x [Conv(filters, kernel, padding) -> ReLU -> MaxPool(2)], then two fully
    connected layers (hidden Linear(units) -> ReLU, then the head).
    ``variant="svhn"``: ``num_blocks`` x [Conv -> BatchNorm -> ReLU -> Conv -> ReLU -> MaxPool(2) -> Dropout(dropout)],
    then Linear(units) -> ReLU -> Dropout(final_dropout) -> head.

    Table 3 ranges (inclusive): filters 2..6, kernel size 2..6, padding valid/same, blocks 1..3, dropout and final
    dropout 0.2..0.5, units 32..512 (log2). The constructor accepts any values that give a valid network and raises
    :class:`InvalidParameterError` naming the largest valid kernel/blocks when the feature map would vanish.
    """

    def __init__(self, input_shape: tuple[int, int, int], n_classes: int, variant: str = "mnist", filters: int = 4,
                 kernel_size: int = 3, padding: str = "same", num_blocks: int = 2, units: int = 128,
                 dropout: float = 0.25, final_dropout: float = 0.25):
        super().__init__()
        owner = "FGHPOCNN"
        check_choice(owner, "variant", variant, ["mnist", "svhn"])
        if len(input_shape) != 3:
            raise InvalidParameterError(f"FGHPOCNN needs image inputs (C, H, W); got input_shape {input_shape}.")
        c, h, w = (int(s) for s in input_shape)
        n_classes = check_int(owner, "n_classes", n_classes, 2)
        filters = check_int(owner, "filters", filters, 1, 4096)
        kernel_size = check_int(owner, "kernel_size", kernel_size, 1, min(h, w))
        check_choice(owner, "padding", padding, ["valid", "same"])
        num_blocks = check_int(owner, "num_blocks", num_blocks, 1, 16)
        units = check_int(owner, "units", units, 1, 1 << 16)
        dropout = check_float(owner, "dropout", dropout, 0.0, 1.0, closed="left")
        final_dropout = check_float(owner, "final_dropout", final_dropout, 0.0, 1.0, closed="left")
        layers: list[nn.Module] = []
        h_out, w_out = h, w
        convs = 1 if variant == "mnist" else 2
        for b in range(num_blocks):
            for j in range(convs):
                layers.append(nn.Conv2d(c, filters, kernel_size, padding=padding))
                if variant == "svhn" and j == 0:
                    layers.append(nn.BatchNorm2d(filters))
                layers.append(nn.ReLU())
                c = filters
                h_out, w_out = _conv_out(h_out, kernel_size, padding), _conv_out(w_out, kernel_size, padding)
            h_out, w_out = h_out // 2, w_out // 2
            if min(h_out, w_out) < 1:
                raise InvalidParameterError(
                    f"FGHPOCNN: with input {h}x{w}, kernel_size={kernel_size} and padding={padding!r}, block {b + 1} "
                    f"of {num_blocks} leaves no spatial extent. Use padding='same', a smaller kernel_size or at most "
                    f"{b} blocks.")
            layers.append(nn.MaxPool2d(2))
            if variant == "svhn" and dropout > 0:
                layers.append(SeededDropout(dropout))
        layers += [nn.Flatten(), nn.Linear(c * h_out * w_out, units), nn.ReLU()]
        if variant == "svhn" and final_dropout > 0:
            layers.append(SeededDropout(final_dropout))
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(units, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (x if self.short is None else self.short(x)))


class ResNet20(_Base):
    """ResNet-20 layout of He et al. (2016, CIFAR): a 3x3 stem of ``width`` channels, three stages of
    ``blocks_per_stage`` basic blocks with ``width, 2*width, 4*width`` channels (strides 1, 2, 2), global average
    pooling and the linear head. ``blocks_per_stage=3, width=16`` is ResNet-20 (6n+2 layers with n=3)."""

    def __init__(self, input_shape: tuple[int, int, int], n_classes: int, blocks_per_stage: int = 3, width: int = 16):
        super().__init__()
        owner = "ResNet20"
        if len(input_shape) != 3:
            raise InvalidParameterError(f"ResNet20 needs image inputs (C, H, W); got input_shape {input_shape}.")
        n_classes = check_int(owner, "n_classes", n_classes, 2)
        blocks_per_stage = check_int(owner, "blocks_per_stage", blocks_per_stage, 1, 64)
        width = check_int(owner, "width", width, 1, 1024)
        c = int(input_shape[0])
        layers: list[nn.Module] = [nn.Conv2d(c, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        cin = width
        for stage, mult in enumerate((1, 2, 4)):
            for b in range(blocks_per_stage):
                layers.append(_BasicBlock(cin, width * mult, 2 if (stage > 0 and b == 0) else 1))
                cin = width * mult
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(cin, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


#: family name -> (class, architecture keys read from a configuration and their defaults)
MODEL_FAMILIES: dict[str, dict] = {
    "mlp": {"num_layers": 2, "units": 64, "activation": "relu", "batch_norm": False, "dropout": 0.0},
    "cnn_mnist": {"filters": 4, "kernel_size": 3, "padding": "same", "num_blocks": 2, "units": 128},
    "cnn_svhn": {"filters": 4, "kernel_size": 3, "padding": "same", "num_blocks": 2, "units": 128, "dropout": 0.25,
                 "final_dropout": 0.25},
    "resnet20": {"blocks_per_stage": 3, "width": 16},
}


def build_model(family: str, config: dict, input_shape: tuple[int, ...], n_classes: int,
                generator: torch.Generator | None = None, device="cpu") -> _Base:
    """Build and initialise a model of ``family`` from the architecture keys of ``config``.

    Keys not listed in :data:`MODEL_FAMILIES` for the family are ignored (they are optimizer keys); missing ones take
    the listed defaults. The module is built on the ``meta`` device (no RNG is touched), moved to ``device`` and
    initialised from ``generator`` (required unless you load a state dict afterwards).

    Raises:
        UnknownNameError: unknown family.
        InvalidParameterError: an architecture value outside its valid range (the message gives the range).
    """
    if family not in MODEL_FAMILIES:
        raise unknown_name("model family", family, MODEL_FAMILIES)
    arch = {k: config.get(k, v) for k, v in MODEL_FAMILIES[family].items()}
    for k in ("num_layers", "units", "filters", "kernel_size", "num_blocks", "blocks_per_stage", "width"):
        if k in arch and isinstance(arch[k], float) and float(arch[k]).is_integer():
            arch[k] = int(arch[k])
    if "batch_norm" in arch:
        arch["batch_norm"] = arch["batch_norm"] in (True, 1, "True", "true", "yes")
    with torch.device("meta"):
        if family == "mlp":
            model = MLP(int(math.prod(input_shape)), n_classes, **arch)
        elif family == "resnet20":
            model = ResNet20(tuple(input_shape), n_classes, **arch)
        else:
            model = FGHPOCNN(tuple(input_shape), n_classes, variant=family.split("_")[1], **arch)
    model = model.to_empty(device=device)
    if generator is not None:
        init_parameters(model, generator)
    else:
        with torch.no_grad():
            for t in list(model.parameters()) + list(model.buffers()):
                t.zero_()
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.reset_running_stats()
    return model
