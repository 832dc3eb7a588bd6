#!/usr/bin/env python3
"""Per-op profile of training steps from `perf script` output (perf record --call-graph dwarf).

Each sample is attributed to the Burn op it belongs to, read off its call stack:
  - a frame `<Op as burn_autodiff::ops::backward::Backward>::backward`  -> "Op backward"
  - a frame `<impl ...Ops<Autodiff<B,C>> for Autodiff<B,C>>::op`          -> "op forward"
  - a frame in burn_optim                                                -> "optimizer (SGD)"
Samples of rayon worker threads carry no op frame; they get the op of the main thread's last
sample before them (within 0.5 s): the main thread waits inside the op that handed out the
work. An approximation: work queued by one op can outlive it by a few samples. Usage:
  perf script -F pid,tid,time,period,ip,sym -i perf.data | bench/perf_ops.py [--steps N]
"""
import bisect
import re
import sys
from collections import Counter, defaultdict

BACKWARD = re.compile(r"(\w+)(?:<[^<>]*>)? as burn_autodiff::ops::backward::Backward<")
FORWARD = re.compile(r"burn_autodiff::ops::[\w:]+::<impl [^ ]*Ops<burn_autodiff::backend::Autodiff<B,C>> for burn_autodiff::backend::Autodiff<B,C>>::(\w+)")
OPTIM = re.compile(r"burn_optim::")


def samples(stream):
    head, frames = None, []
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if head:
                yield head, frames
            head, frames = None, []
        elif not line.startswith((" ", "\t")):
            head, frames = line, []
        else:
            parts = line.split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else "")
    if head:
        yield head, frames


def classify(frames):
    for rule, label in ((BACKWARD, "{} backward"), (FORWARD, "{} forward")):
        for f in frames:
            m = rule.search(f)
            if m:
                return label.format(m.group(1))
    if any(OPTIM.search(f) for f in frames):
        return "optimizer (SGD)"
    return None


GENERIC = ("rayon", "<rayon", "core::", "<core::", "std::", "<std::", "alloc::", "<alloc::",
           "[unknown]", "__rust", "<&", "_start", "start_thread", "clone3")


def short(name):
    """A frame's function without generic arguments or closure suffixes."""
    name = re.sub(r"\{\{closure\}\}", "", name)
    while "<" in name:
        new = re.sub(r"<[^<>]*>", "", name)
        if new == name:
            break
        name = new
    parts = [p for p in name.split("::") if p]
    return "::".join(parts[-2:]) if parts else name


def leaf(frames):
    for f in frames:
        name = re.sub(r"\+0x[0-9a-f]+.*$", "", f).strip()
        if name and not name.startswith(GENERIC):
            return short(name)[:48]
    return short(re.sub(r"\+0x[0-9a-f]+.*$", "", frames[0]).strip())[:48] if frames else "?"


def main():
    steps = 1
    if "--steps" in sys.argv:
        steps = int(sys.argv[sys.argv.index("--steps") + 1])
    rows = []
    for head, frames in samples(sys.stdin):
        m = re.match(r"\s*(\d+)/(\d+)\s+([\d.]+):\s+(\d+)", head)
        if not m:
            continue
        pid, tid, t, period = int(m[1]), int(m[2]), float(m[3]), int(m[4])
        rows.append((pid == tid, t, period, classify(frames), leaf(frames)))
    main_ops = sorted((t, op) for is_main, t, _, op, _ in rows if is_main and op)
    times = [t for t, _ in main_ops]
    ns = Counter()
    kernels = defaultdict(Counter)
    for is_main, t, period, op, kernel in rows:
        if op is None and not is_main and times:
            j = bisect.bisect_right(times, t) - 1
            if j >= 0 and t - times[j] < 0.5:
                op = main_ops[j][1]
        op = op or ("other, main thread" if is_main else "other, worker threads")
        ns[op] += period
        kernels[op][kernel] += period
    total = sum(ns.values())
    print(f"{'op':<34} {'share':>6} {'CPU ms/step':>12}   top kernels (share of the op)")
    for op, n in ns.most_common():
        top = ", ".join(f"{k} {100 * c / n:.0f}%" for k, c in kernels[op].most_common(2))
        print(f"{op:<34} {100 * n / total:>5.1f}% {n / 1e6 / steps:>12.2f}   {top}")
    print(f"{'total':<34} {100:>5.1f}% {total / 1e6 / steps:>12.2f}   ({len(rows)} samples)")


if __name__ == "__main__":
    main()
