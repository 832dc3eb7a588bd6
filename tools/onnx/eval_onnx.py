"""Test-set accuracy of an ONNX classifier on Fashion-MNIST, run in onnxruntime (CPU).

Reads DIR/t10k-images-idx3-ubyte.gz and DIR/t10k-labels-idx1-ubyte.gz, scales pixels to [0, 1]
and, when the model's input is not 28x28, resizes bilinearly as PyTorch's
F.interpolate(mode="bilinear", align_corners=False) does. Prints one JSON line.

    python eval_onnx.py model.onnx --data-dir datasets/fashion-mnist [--limit 1000]
"""
import argparse
import gzip
import json
import pathlib
import sys

import numpy as np

from session import open_session


def read_idx(path, magic):
    """The array in a gzipped IDX file of unsigned bytes (2049: labels [N], 2051: images [N, H, W])."""
    try:
        raw = gzip.decompress(pathlib.Path(path).read_bytes())
    except (OSError, EOFError) as e:
        raise ValueError(f"cannot read {path}: {e}") from None
    ndim = {2049: 1, 2051: 3}[magic]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: too short for an IDX header")
    header = np.frombuffer(raw, dtype=">u4", count=1 + ndim)
    if header[0] != magic:
        raise ValueError(f"{path}: magic {header[0]}, expected {magic}")
    shape = tuple(int(d) for d in header[1:])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != np.prod(shape):
        raise ValueError(f"{path}: {data.size} bytes of data, header says {shape}")
    return data.reshape(shape)


def resize_matrix(n_in, n_out):
    """[n_out, n_in] linear-interpolation weights with half-pixel centres (align_corners=False).

    Positions are computed in float32, as PyTorch's CPU kernel computes them for float32 input."""
    f32 = np.float32
    src = f32(n_in / n_out) * (np.arange(n_out, dtype=f32) + f32(0.5)) - f32(0.5)
    src = np.maximum(src, f32(0.0))  # PyTorch clamps negative source positions to 0
    i0 = np.floor(src).astype(np.int64)
    i0 = np.minimum(i0, n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = (src - i0).astype(np.float64)
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), i0), 1.0 - frac)
    np.add.at(m, (np.arange(n_out), i1), frac)
    return m


def resize_bilinear(images, h, w):
    """Resizes [N, C, H0, W0] float32 images to [N, C, h, w]."""
    ry = resize_matrix(images.shape[2], h)
    rx = resize_matrix(images.shape[3], w)
    return (ry @ images.astype(np.float64) @ rx.T).astype(np.float32)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="the .onnx file")
    p.add_argument("--data-dir", required=True, help="folder with the Fashion-MNIST IDX .gz files")
    p.add_argument("--limit", type=int, help="evaluate only the first N test images")
    p.add_argument("--batch-size", type=int, default=256, help="images per session.run (default 256)")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (default 2)")
    args = p.parse_args()
    if args.batch_size < 1 or (args.limit is not None and args.limit < 1):
        sys.exit("eval_onnx: --batch-size and --limit must be positive")
    try:
        d = pathlib.Path(args.data_dir)
        images = read_idx(d / "t10k-images-idx3-ubyte.gz", 2051)
        labels = read_idx(d / "t10k-labels-idx1-ubyte.gz", 2049)
    except ValueError as e:
        sys.exit(f"eval_onnx: {e}")
    if len(images) != len(labels):
        sys.exit(f"eval_onnx: {len(images)} images but {len(labels)} labels")
    if args.limit is not None:
        images, labels = images[:args.limit], labels[:args.limit]

    try:
        session = open_session(args.model, args.threads)
    except ValueError as e:
        sys.exit(f"eval_onnx: {e}")
    inp = session.get_inputs()[0]
    shape = inp.shape
    if len(shape) != 4 or shape[1] != 1 or not all(isinstance(s, int) for s in shape[2:]):
        sys.exit(f"eval_onnx: model input {inp.name!r} has shape {shape}, expected [N, 1, H, W]")
    h, w = shape[2], shape[3]

    correct = 0
    for start in range(0, len(images), args.batch_size):
        x = images[start:start + args.batch_size, None].astype(np.float32) / 255.0
        if (h, w) != x.shape[2:]:
            x = resize_bilinear(x, h, w)
        (logits,) = session.run(None, {inp.name: x})
        if logits.shape[0] != len(x) or logits.ndim != 2:
            sys.exit(f"eval_onnx: logits of shape {list(logits.shape)} for a batch of {len(x)}")
        correct += int((logits.argmax(axis=1) == labels[start:start + len(x)]).sum())
    n = len(images)
    print(json.dumps({"accuracy": round(correct / n, 6), "n": n, "correct": correct}))


if __name__ == "__main__":
    main()
