#!/usr/bin/env python3
"""Python binding overhead, measured side by side in one process:
- the cost of a no-op Python hook per call (a forward with a hook on every point, minus the plain forward,
  divided by the number of hook calls), on a golden tiny model where the forward itself is cheap;
- a Python-driven run_with_cache against the same call timed inside C++, on bench-124m at 8 x 128.

    PYTHONPATH=build/python /usr/bin/python3 bench/bench_python.py [--models build/bench-models] [--dtype bfloat16]
"""
import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

import moulin

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(function, repeats):
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=str(ROOT / "build" / "bench-models"))
    parser.add_argument("--golden", default=str(ROOT.parent / "shared" / "golden"))
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.manual_seed(0)

    tiny = moulin.Model.from_pretrained(Path(args.golden) / "tiny-mha")
    ids = torch.randint(1, 300, (1, 8))
    names = tiny.hook_names()
    calls = []

    def noop(tensor, hook):
        calls.append(1)

    plain = median_seconds(lambda: tiny(ids), args.repeats * 20)
    hooked = median_seconds(lambda: tiny.run_with_hooks(ids, fwd_hooks=[(names, noop)]), args.repeats * 20)
    per_forward = len(calls) // (args.repeats * 20 + 1)
    per_call_us = (hooked - plain) / per_forward * 1e6
    print(f"no-op Python hook: {per_call_us:.2f} us per call ({per_forward} calls per forward; target <= 20 us)")

    folder = Path(args.models) / "bench-124m"
    if not (folder / "config.json").exists():
        subprocess.run([str(ROOT / "build" / "bench" / "moulin_bench_hooks"), "--models", args.models, "--rounds", "1"],
                       check=True, stdout=subprocess.DEVNULL)
    model = moulin.Model.from_pretrained(folder, dtype=args.dtype)
    batch = torch.randint(3, 32000, (8, 128))
    python_seconds = median_seconds(lambda: model.run_with_cache(batch), args.repeats)
    native_seconds = model._native._time_run_with_cache_native(batch, args.repeats)
    print(f"run_with_cache bench-124m {args.dtype} 8x128: Python {python_seconds * 1e3:.1f} ms, "
          f"C++ {native_seconds * 1e3:.1f} ms, ratio {python_seconds / native_seconds:.3f} (target <= 1.05)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
