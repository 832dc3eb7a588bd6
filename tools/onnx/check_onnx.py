"""Check an ONNX file written by `convzoo export` against logits from `convzoo infer`.

Runs onnx's full checker, checks the graph's interface (one input `input` [N, C, H, W] with N
symbolic, one output `logits` [N, classes]) and convzoo's metadata, then runs each --pair's
safetensors tensor `input` in onnxruntime (CPU) and compares the result with the other file's
tensor `logits`. Prints one JSON line; exits 1, naming what failed, on any failure.

    python check_onnx.py model.onnx --pair in.safetensors ours.safetensors [--pair ...]
"""
import argparse
import json
import sys

import numpy as np
import onnx
from safetensors.numpy import load_file

from session import open_session

METADATA_KEYS = ("model", "classes", "input_size", "normalization", "convzoo_version")


class CheckError(Exception):
    pass


def dims(value_info):
    """The dims of a graph input or output: an int, or the dim_param string (None if neither)."""
    shape = value_info.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in shape.dim]


def check_graph(model):
    """Checks the interface and metadata; returns (input dims, metadata dict)."""
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if [i.name for i in inputs] != ["input"]:
        raise CheckError(f"graph inputs are {[i.name for i in inputs]}, expected ['input']")
    if [o.name for o in graph.output] != ["logits"]:
        raise CheckError(f"graph outputs are {[o.name for o in graph.output]}, expected ['logits']")
    if inputs[0].type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        raise CheckError("input `input` is not float32")
    in_dims, out_dims = dims(inputs[0]), dims(graph.output[0])
    if len(in_dims) != 4 or not all(isinstance(d, int) and d > 0 for d in in_dims[1:]):
        raise CheckError(f"input `input` has shape {in_dims}, expected [N, C, H, W] with C, H, W fixed")
    if not isinstance(in_dims[0], str):
        raise CheckError(f"input `input` has batch dim {in_dims[0]!r}, expected a symbolic one")
    if len(out_dims) != 2:
        raise CheckError(f"output `logits` has shape {out_dims}, expected [N, classes]")

    meta = {p.key: p.value for p in model.metadata_props}
    missing = [k for k in METADATA_KEYS if k not in meta]
    if missing:
        raise CheckError(f"metadata_props lack {missing}")
    try:
        classes = json.loads(meta["classes"])
    except json.JSONDecodeError as e:
        raise CheckError(f"metadata `classes` is not JSON: {e}") from None
    if not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
        raise CheckError("metadata `classes` is not a non-empty JSON list of strings")
    if isinstance(out_dims[1], int) and out_dims[1] != len(classes):
        raise CheckError(f"output `logits` has {out_dims[1]} classes, metadata `classes` {len(classes)}")
    if meta["input_size"] != "x".join(map(str, in_dims[1:])):
        raise CheckError(f"metadata `input_size` is {meta['input_size']!r}, graph input is {in_dims[1:]}")
    return in_dims, meta


def tensor(path, key):
    try:
        tensors = load_file(path)
    except Exception as e:  # noqa: BLE001 - any unreadable file is one failure
        raise CheckError(f"cannot read {path}: {e}") from None
    if key not in tensors:
        raise CheckError(f"{path} has no tensor `{key}` (has {sorted(tensors)})")
    return tensors[key]


def compare(session, in_dims, in_path, ours_path, tolerance):
    """Runs one pair; returns (batch size, max abs difference)."""
    x, ours = tensor(in_path, "input"), tensor(ours_path, "logits")
    if x.dtype != np.float32 or x.ndim != 4 or list(x.shape[1:]) != in_dims[1:]:
        raise CheckError(f"{in_path}: `input` is {x.dtype} {list(x.shape)}, graph wants float32 [N, {', '.join(map(str, in_dims[1:]))}]")
    (theirs,) = session.run(["logits"], {"input": x})
    if ours.shape != theirs.shape:
        raise CheckError(f"{ours_path}: `logits` is {list(ours.shape)}, onnxruntime gives {list(theirs.shape)}")
    if not np.isfinite(ours).all() or not np.isfinite(theirs).all():
        raise CheckError(f"{ours_path}: non-finite logits (ours or onnxruntime's)")
    diff = float(np.abs(ours.astype(np.float64) - theirs.astype(np.float64)).max())
    if diff > tolerance:
        raise CheckError(f"{ours_path}: max abs difference {diff:.3g} from onnxruntime exceeds {tolerance:g}")
    return int(x.shape[0]), diff


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="the .onnx file")
    p.add_argument("--pair", nargs=2, action="append", required=True, metavar=("IN", "OURS"),
                   help="safetensors with `input`, safetensors with our `logits` for it (repeatable)")
    p.add_argument("--tolerance", type=float, default=1e-4, help="max abs logit difference (default 1e-4)")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (default 2)")
    args = p.parse_args()
    try:
        try:
            model = onnx.load(args.model)
        except Exception as e:  # noqa: BLE001 - missing and unparsable files both fail here
            raise CheckError(f"cannot load: {e}") from None
        try:
            onnx.checker.check_model(model, full_check=True)
        except Exception as e:  # noqa: BLE001 - checker and shape-inference errors
            raise CheckError(f"onnx checker: {e}") from None
        in_dims, meta = check_graph(model)
        try:
            session = open_session(args.model, args.threads)
        except ValueError as e:
            raise CheckError(str(e)) from None
        results = [compare(session, in_dims, i, o, args.tolerance) for i, o in args.pair]
    except CheckError as e:
        sys.exit(f"check_onnx: {args.model}: " + " ".join(str(e).split()))  # one line
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    print(json.dumps({
        "model": meta["model"], "opset": opset, "ir_version": model.ir_version,
        "nodes": len(model.graph.node), "initializers": len(model.graph.initializer),
        "batches": [n for n, _ in results], "max_abs_diff": max(d for _, d in results)}))


if __name__ == "__main__":
    main()
