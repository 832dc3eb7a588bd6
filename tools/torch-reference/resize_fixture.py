"""Reference resizes for convzoo's bilinear resize (PyTorch's default half-pixel centres).

Reads the first image of the shipped Fashion-MNIST test set, scales it to [0, 1] as d2l's
ToTensor does, resizes it with F.interpolate(mode="bilinear", align_corners=False) to 96x96 and
224x224, and stores the input and both outputs as float32 tensors in a safetensors file.
"""
import gzip
import pathlib

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
IMAGES = ROOT / "datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
OUT = ROOT / "crates/convzoo-datasets/tests/fixtures/resize.safetensors"


def first_image() -> torch.Tensor:
    raw = gzip.decompress(IMAGES.read_bytes())
    assert raw[:4] == b"\x00\x00\x08\x03", "not an IDX3 file of bytes"
    pixels = np.frombuffer(raw, dtype=np.uint8, count=28 * 28, offset=16)
    return torch.from_numpy(pixels.astype(np.float32) / 255.0).reshape(1, 1, 28, 28)


def main() -> None:
    x = first_image()
    tensors = {"input": x.contiguous()}
    for size in (96, 224):
        y = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        tensors[f"resize_{size}"] = y.contiguous()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(OUT), metadata={"torch": torch.__version__})
    print(f"wrote {OUT.relative_to(ROOT)}: " + ", ".join(f"{k} {tuple(v.shape)}" for k, v in tensors.items()))


if __name__ == "__main__":
    main()
