"""Read every scalar of a convzoo run's TensorBoard event files with TensorBoard's own reader.

Prints one JSON line: {"TAG": [[step, value], ...], ...}, each list in step order, for all
`events.out.tfevents.*` files of the run directory (TensorBoard's EventAccumulator reads the
directory as `tensorboard --logdir` does). Exit 1, with a one-line message, if there are none.

    python read_scalars.py runs/lenet-20261201-101500
"""
import argparse
import json
import pathlib
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="run directory holding events.out.tfevents.* files")
    args = p.parse_args()
    run = pathlib.Path(args.run)
    if not any(run.glob("events.out.tfevents.*")):
        print(f"read_scalars: no events.out.tfevents.* file in {run}", file=sys.stderr)
        return 1
    acc = EventAccumulator(str(run), size_guidance={"scalars": 0})
    acc.Reload()
    out = {tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
