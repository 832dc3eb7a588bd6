"""PyTorch counterpart of `convzoo bench`: d2l's models, same batch sizes and steps.

Prints one JSON object like convzoo's: model, backend ("pytorch"), batch_size,
train_images_per_sec and infer_images_per_sec (median over timed steps after warm-up; a training
step is forward, cross-entropy, backward and an SGD update), peak_rss_bytes. Uses
torch.set_num_threads(--threads, default: the CPU count, as convzoo's thread pool does). The
models come from --d2l-models (default: $CONVZOO_D2L_MODELS, else the repository's
tools/torch-reference/d2l_models.py).
"""
import argparse
import importlib.util
import os
import pathlib
import resource
import statistics
import time

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--d2l-name", required=True)
    p.add_argument("--model", required=True, help="convzoo's name, echoed in the output")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--d2l-models", default=os.environ.get(
        "CONVZOO_D2L_MODELS", str(ROOT / "tools/torch-reference/d2l_models.py")))
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    spec = importlib.util.spec_from_file_location("d2l_models", a.d2l_models)
    d2l = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(d2l)
    model, res, default_batch = d2l.build(a.d2l_name, seed=0)
    bs = a.batch_size or default_batch
    x = torch.rand((bs, 1, res, res))
    y = torch.arange(bs) % 10
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    model.train()
    train = []
    for step in range(a.warmup + a.steps):
        t = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        if step >= a.warmup:
            train.append(time.perf_counter() - t)
    model.eval()
    infer = []
    with torch.no_grad():
        for step in range(a.warmup + a.steps):
            t = time.perf_counter()
            model(x).sum().item()
            if step >= a.warmup:
                infer.append(time.perf_counter() - t)
    import json
    print(json.dumps({
        "model": a.model, "backend": "pytorch", "batch_size": bs,
        "train_images_per_sec": bs / statistics.median(train),
        "infer_images_per_sec": bs / statistics.median(infer),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
