"""Reference logits of d2l's PyTorch models, for convzoo's parity tests.

For every model this builds its PyTorch definition (the module given by --d2l-models, by
default `d2l_models.py` beside this script), sets its weights, runs a seeded input batch and
writes `crates/convzoo-models/tests/fixtures/<d2l name>.safetensors` with:

- `input`: [2, 1, S, S] uniform in [0, 1), S the model's native size;
- `logits_eval`: the logits in inference mode (`model.eval()`);
- for the batch-norm models, `logits_train` (training mode, batch statistics),
  `after_train.<key>` for every running statistic after that one training-mode forward, and
  `count.<key>` for every batch norm's `running_var` key: a 1-element tensor holding the number
  of values per channel that batch norm saw in that forward (batch * H * W for BatchNorm2d,
  batch for BatchNorm1d).

Small models (lenet, bn_lenet, nin, densenet) keep their seeded Xavier initialisation and store
their `state_dict` beside the fixture (`<d2l name>.weights.safetensors`); the large ones are
filled on both sides from `fill()` below (the Rust test has the same formula), so only input and
logits are stored.
"""
import argparse
import importlib.util
import math
import pathlib

import numpy as np
import torch
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = ROOT / "crates/convzoo-models/tests/fixtures"

# d2l name -> (weights stored, has batch norm)
MODELS = {
    "lenet": (True, False),
    "bn_lenet": (True, True),
    "alexnet": (False, False),
    "vgg11": (False, False),
    "vgg11_small": (False, False),
    "nin": (True, False),
    "googlenet": (False, False),
    "resnet18": (False, True),
    "densenet": (True, True),
    "vgg16": (False, False),
    "resnet34": (False, True),
    "googlenet_bn": (False, True),
    "regnetx32": (False, True),
}


def fill(key: str, shape) -> np.ndarray:
    """A deterministic value for every element of tensor `key` (PyTorch layout).

    Integer arithmetic only (a golden-ratio multiplicative hash of the element index and the
    key), so that Python and Rust compute bit-identical values without a maths library.
    """
    n = int(np.prod(shape)) if len(shape) else 1
    k = sum(key.encode()) % 9973
    i = np.arange(n, dtype=np.uint64)
    u = ((i * np.uint64(2654435761) + np.uint64(k * 40503)) % np.uint64(2**32)).astype(np.float64) / 2.0**32
    if key.endswith("running_var"):
        v = 1.0 + 0.5 * u
    elif key.endswith("running_mean"):
        v = 0.2 * (u - 0.5)
    elif key.endswith("bias"):
        v = 0.1 * (u - 0.5)
    elif len(shape) == 1:  # batch-norm scale
        v = 1.0 + 0.4 * (u - 0.5)
    else:  # conv or linear weight: uniform with He's variance 2 / fan_in
        fan_in = n // shape[0]
        v = (u - 0.5) * 2.0 * math.sqrt(6.0 / fan_in)
    return v.astype(np.float32).reshape(shape)


def bn_counts(model: torch.nn.Module) -> tuple:
    """Hooks that record, per batch norm, how many values per channel its next forward sees.

    Returns {running_var key: count} (filled in by the forward) and the hook handles."""
    counts, handles = {}, []
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            key = f"{name}.running_var"

            def hook(_module, inputs, key=key):
                assert key not in counts, f"{key}: batch norm used twice in one forward"
                x = inputs[0]
                counts[key] = x.numel() // x.shape[1]

            handles.append(m.register_forward_pre_hook(hook))
    return counts, handles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d2l-models", default=str(HERE / "d2l_models.py"))
    parser.add_argument("names", nargs="*", help="models to write (default: all)")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    spec = importlib.util.spec_from_file_location("d2l_models", args.d2l_models)
    d2l = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(d2l)
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (store_weights, has_bn) in MODELS.items():
        if args.names and name not in args.names:
            continue
        model, res, _ = d2l.build(name, init="xavier", seed=0)
        if not store_weights:
            with torch.no_grad():
                for key, t in model.state_dict().items():
                    if not key.endswith("num_batches_tracked"):
                        t.copy_(torch.from_numpy(fill(key, tuple(t.shape))))
        else:
            weights = {k: v.contiguous() for k, v in model.state_dict().items()}
            save_file(weights, str(OUT / f"{name}.weights.safetensors"))
        gen = torch.Generator().manual_seed(1234)
        x = torch.rand((2, 1, res, res), generator=gen)
        tensors = {"input": x}
        model.eval()
        with torch.no_grad():
            tensors["logits_eval"] = model(x)
            if has_bn:
                model.train()
                counts, handles = bn_counts(model)
                tensors["logits_train"] = model(x)
                for h in handles:
                    h.remove()
                for key, t in model.state_dict().items():
                    if key.endswith(("running_mean", "running_var")):
                        tensors[f"after_train.{key}"] = t.clone()
                    if key.endswith("running_var"):
                        tensors[f"count.{key}"] = torch.tensor([float(counts[key])], dtype=torch.float32)
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(OUT / f"{name}.safetensors"),
                  metadata={"torch": torch.__version__, "d2l_model": name})
        print(f"{name}: input {tuple(x.shape)}, logits {tuple(tensors['logits_eval'].shape)}"
              f"{', weights stored' if store_weights else ', weights from fill()'}")


if __name__ == "__main__":
    main()
