#!/usr/bin/env python3
"""Times SQLite's recovery of a full write-ahead log, what a service's first
open pays after a crash with its log at the writer's backstop.

A child process writes PAGES pages of log (random 3,000-byte rows, no
checkpoint) and dies without closing; the log's shared memory is removed, as
after a reboot, and a fresh connection's first query then rebuilds the index
from the whole log. --drop-caches (as root) empties the kernel's page cache
first, for a cold disk.

    bench/wal_recovery.py [--pages 10000] [--dir /tmp/x] [--drop-caches]
"""
import argparse
import os
import subprocess
import sqlite3
import sys
import tempfile
import time

from sqlite_files import FRAME_BYTES, remove_database


def write_log(path, pages):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute("CREATE TABLE row (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    while not os.path.exists(path + "-wal") or os.path.getsize(path + "-wal") < pages * FRAME_BYTES:
        db.execute("BEGIN")
        for _ in range(300):
            db.execute("INSERT INTO row (body) VALUES (randomblob(3000))")
        db.execute("COMMIT")
    # A crash: nothing closed, nothing checkpointed.
    os._exit(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=10000)  # DatabaseBootstrap.backstopPages
    parser.add_argument("--dir")
    parser.add_argument("--drop-caches", action="store_true")
    parser.add_argument("--write", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        write_log(args.write, args.pages)
    directory = args.dir or tempfile.mkdtemp(prefix="wal-recovery-")
    path = os.path.join(directory, "recovery.sqlite")
    remove_database(path)
    subprocess.run([sys.executable, __file__, "--pages", str(args.pages), "--write", path], check=True)
    os.remove(path + "-shm")
    if args.drop_caches:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as caches:
            caches.write("3\n")
    started = time.monotonic()
    rows = sqlite3.connect(path).execute("SELECT COUNT(*) FROM row").fetchone()[0]
    elapsed = time.monotonic() - started
    print(f"log {os.path.getsize(path + '-wal') / 2**20:.0f} MiB, {rows} rows recovered in {elapsed:.3f} s")
    remove_database(path)
    if not args.dir:
        os.rmdir(directory)


if __name__ == "__main__":
    main()
