"""Inference throughput of an ONNX classifier in onnxruntime (CPU).

Feeds one random uniform [0, 1) batch of the graph's input shape (batch dim set to
--batch-size), runs --warmup untimed then --steps timed `session.run` calls, and prints the
median's images per second as one JSON line.

    python bench_onnx.py model.onnx --batch-size 64 [--steps 5] [--warmup 2] [--threads 2]
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort

from session import open_session


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="the .onnx file")
    p.add_argument("--batch-size", type=int, required=True, help="images per session.run")
    p.add_argument("--steps", type=int, default=5, help="timed runs (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (default 2)")
    args = p.parse_args()
    if args.batch_size < 1 or args.steps < 1 or args.warmup < 0 or args.threads < 1:
        sys.exit("bench_onnx: --batch-size, --steps and --threads must be positive, --warmup >= 0")

    try:
        session = open_session(args.model, args.threads)
    except ValueError as e:
        sys.exit(f"bench_onnx: {e}")
    inp = session.get_inputs()[0]
    rest = inp.shape[1:]
    if not all(isinstance(d, int) for d in rest):
        sys.exit(f"bench_onnx: model input {inp.name!r} has shape {inp.shape}; only the batch dim may be symbolic")
    x = np.random.default_rng(0).random((args.batch_size, *rest), dtype=np.float32)

    times = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        session.run(None, {inp.name: x})
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    print(json.dumps({
        "infer_images_per_sec": round(args.batch_size / median, 1), "batch_size": args.batch_size,
        "threads": args.threads, "median_s": round(median, 5), "steps": args.steps,
        "onnxruntime": ort.__version__}))


if __name__ == "__main__":
    main()
