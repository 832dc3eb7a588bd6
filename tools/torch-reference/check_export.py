"""Loads weights exported by convzoo into d2l's PyTorch model and checks the logits.

Usage: check_export.py D2L_NAME WEIGHTS.safetensors INPUT.safetensors OURS.safetensors OUT.pt
  [--d2l-models PATH]

Builds model D2L_NAME from --d2l-models (default: `d2l_models.py` beside this script), loads
WEIGHTS (d2l key names; only num_batches_tracked may be missing), runs INPUT's tensor `input` in
inference mode and compares with OURS's `logits` (max abs difference <= 1e-4). Then saves the
state_dict with torch.save to OUT.pt and the PyTorch logits beside it
(OUT.pt.logits.safetensors), for the import direction. Exit status 1 on any mismatch.
"""
import argparse
import importlib.util
import pathlib
import sys

import torch
from safetensors.torch import load_file, save_file

HERE = pathlib.Path(__file__).resolve().parent


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("name")
    p.add_argument("weights")
    p.add_argument("input")
    p.add_argument("ours")
    p.add_argument("out_pt")
    p.add_argument("--d2l-models", default=str(HERE / "d2l_models.py"))
    a = p.parse_args()
    spec = importlib.util.spec_from_file_location("d2l_models", a.d2l_models)
    d2l = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(d2l)
    model, _, _ = d2l.build(a.name, seed=0)
    result = model.load_state_dict(load_file(a.weights), strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        print(f"keys do not fit: missing {missing[:5]}, unexpected {result.unexpected_keys[:5]}")
        return 1
    model.eval()
    with torch.no_grad():
        logits = model(load_file(a.input)["input"])
    ours = load_file(a.ours)["logits"]
    diff = float((logits - ours).abs().max())
    print(f"max abs difference {diff:.3g}")
    torch.save(model.state_dict(), a.out_pt)
    save_file({"logits": logits.contiguous()}, a.out_pt + ".logits.safetensors")
    return 0 if diff <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
