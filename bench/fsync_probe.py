#!/usr/bin/env python3
"""How long this disk takes to make a small write durable, and when it stalls.

Overwrites 4 KiB of a file and fdatasyncs it, again and again (with a pause
between, so as not to take a core from a benchmark running beside it), and
prints every sync slower than --threshold-ms with the wall clock (Unix ms)
at which it ended, then the distribution. Run beside `laurel-bench
--timeline` to see whether a latency stall of Laurel's is the disk's:

    python3 bench/fsync_probe.py --seconds 20 --pause-ms 3
"""
import argparse
import os
import tempfile
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--file", help="file to write (default: a temporary file in the current directory)")
parser.add_argument("--seconds", type=float, default=20)
parser.add_argument("--pause-ms", type=float, default=3, help="pause between syncs; 0 for back to back")
parser.add_argument("--threshold-ms", type=float, default=20)
args = parser.parse_args()

if args.file:
    path, fd = args.file, os.open(args.file, os.O_RDWR | os.O_CREAT, 0o644)
else:
    fd, path = tempfile.mkstemp(prefix="fsync-probe-", dir=".")
try:
    os.pwrite(fd, b"\0" * 65536, 0)
    os.fsync(fd)
    page = b"\1" * 4096
    latencies = []
    began = time.time()
    while time.time() - began < args.seconds:
        start = time.perf_counter()
        os.pwrite(fd, page, (len(latencies) % 16) * 4096)
        os.fdatasync(fd)
        millis = (time.perf_counter() - start) * 1000
        latencies.append(millis)
        if millis > args.threshold_ms:
            print(f"{int(time.time() * 1000)} {millis:.1f} ms", flush=True)
        if args.pause_ms:
            time.sleep(args.pause_ms / 1000)
    latencies.sort()
    at = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))]
    print(f"syncs {len(latencies)}, p50 {at(0.5):.3f} ms, p99 {at(0.99):.3f} ms, p99.9 {at(0.999):.3f} ms, max {latencies[-1]:.1f} ms")
finally:
    os.close(fd)
    if not args.file:
        os.remove(path)
