#!/usr/bin/env bash
# Per-op profile of training steps of one model on flex: runs `convzoo bench profile` under
# `perf record --call-graph dwarf` and attributes the samples to Burn ops (bench/perf_ops.py).
# With --infer, inference batches instead (no autodiff ops to attribute to: the functions that
# take the time, from `perf report`).
# Usage: bench/profile.sh [--infer] MODEL [STEPS] [BATCH]    e.g. bench/profile.sh lenet 30
# Needs `perf` (Debian: apt-get install linux-perf).
set -euo pipefail
cd "$(dirname "$0")/.."
infer=
if [ "${1:-}" = --infer ]; then infer=--infer; shift; fi
model=${1:?usage: bench/profile.sh [--infer] MODEL [STEPS] [BATCH]}
steps=${2:-20}
batch=${3:+--batch-size $3}
command -v perf >/dev/null || { echo "error: perf not found (Debian: apt-get install linux-perf)" >&2; exit 1; }
cargo build --release --quiet -p convzoo-trainer --bin convzoo
data=$(mktemp /tmp/convzoo-perf.XXXXXX)
trap 'rm -f "$data"' EXIT
perf record -q -F 997 --call-graph dwarf,32768 -o "$data" -- \
  target/release/convzoo bench profile $infer --model "$model" --steps "$steps" --warmup 2 $batch
if [ -n "$infer" ]; then
  perf report -q -i "$data" --no-children --sort dso,sym -g none 2>/dev/null | head -30
  exit 0
fi
perf script -F pid,tid,time,period,ip,sym -i "$data" 2>/dev/null \
  | python3 bench/perf_ops.py --steps $((steps + 2))
