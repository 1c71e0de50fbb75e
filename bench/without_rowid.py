#!/usr/bin/env python3
"""Whether the keyed tables a purchase writes would cost the members writer
less as WITHOUT ROWID tables, before anyone migrates them.

A purchase looks up and inserts its idempotency key, inserts the purchase
and its earning: three tables keyed by text, each today a rowid table plus
the unique index SQLite makes for its key (two B-trees). WITHOUT ROWID
would keep each in one B-tree ordered by its key. This runs those
statements as the members writer does (WAL, synchronous=FULL, a batch of
purchases per transaction, each in its savepoint) on both schemas,
alternated, and prints the CPU and the log frames per purchase. Order ids
are per-worker sequences (`order-w7-123`, as laurel-bench sends) or, with
--random-keys, random.

    bench/without_rowid.py [--purchases 40000] [--batch 24] [--rounds 3] [--random-keys] [--dir /tmp/x]
"""
import argparse
import os
import random
import sqlite3
import tempfile
import time

from sqlite_files import FRAME_BYTES, remove_database


def create(db, without_rowid):
    # The columns and indexes of migrations v1-v7 (MembersDatabase.swift).
    options = " WITHOUT ROWID" if without_rowid else ""
    db.execute(f"""CREATE TABLE idempotency_key (scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint BLOB NOT NULL,
        result BLOB NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (scope, key)){options}""")
    db.execute(f"""CREATE TABLE purchase (order_id TEXT PRIMARY KEY NOT NULL, member_id TEXT NOT NULL,
        currency_code TEXT NOT NULL, amount_minor INTEGER NOT NULL, points_earned INTEGER NOT NULL, ledger_entry_id INTEGER,
        occurred_at INTEGER NOT NULL, recorded_at INTEGER NOT NULL, refunded_minor INTEGER NOT NULL DEFAULT 0,
        points_reversed INTEGER NOT NULL DEFAULT 0, program_version INTEGER NOT NULL DEFAULT 0,
        cashback_minor INTEGER NOT NULL DEFAULT 0, cashback_reversed_minor INTEGER NOT NULL DEFAULT 0){options}""")
    db.execute("CREATE INDEX purchase_by_member ON purchase (member_id, occurred_at)")
    db.execute("CREATE INDEX purchase_by_time ON purchase (occurred_at)")
    db.execute(f"""CREATE TABLE purchase_earning (order_id TEXT NOT NULL, line_no INTEGER NOT NULL, rule TEXT NOT NULL,
        program_version INTEGER NOT NULL, points INTEGER NOT NULL, reversed INTEGER NOT NULL,
        PRIMARY KEY (order_id, line_no, rule)){options}""")


def run(path, without_rowid, purchases, batch, random_keys):
    """CPU microseconds and log frames per purchase."""
    remove_database(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA temp_store = MEMORY")
    # Checkpoints by hand, so that the log's growth counts each commit's frames.
    db.execute("PRAGMA wal_autocheckpoint = 0")
    create(db, without_rowid)
    rng = random.Random(7)
    # A stored fingerprint and compact answer are about this long.
    fingerprint, answer = b"f" * 120, b"a" * 90
    frames = 0
    start = time.process_time()
    for first in range(0, purchases, batch):
        db.execute("BEGIN")
        for n in range(first, min(first + batch, purchases)):
            order = f"order-{rng.getrandbits(48):x}" if random_keys else f"order-w{n % 64}-{n // 64}"
            member = f"m{rng.randrange(1000):06d}"
            now = 1_764_500_000_000 + n
            db.execute("SAVEPOINT job")
            db.execute("SELECT fingerprint, result FROM idempotency_key WHERE scope = ? AND key = ?", ("purchase", order)).fetchone()
            db.execute(
                """INSERT INTO purchase (order_id, member_id, currency_code, amount_minor, points_earned, ledger_entry_id,
                occurred_at, recorded_at, program_version) VALUES (?, ?, 'USD', 2599, 25, ?, ?, ?, 1)""",
                (order, member, n, now, now))
            db.execute("INSERT INTO purchase_earning VALUES (?, -1, 'base', 1, 25, 0)", (order,))
            db.execute("INSERT INTO idempotency_key VALUES ('purchase', ?, ?, ?, ?)", (order, fingerprint, answer, now))
            db.execute("RELEASE SAVEPOINT job")
        db.execute("COMMIT")
        if os.path.getsize(path + "-wal") > 4000 * FRAME_BYTES:
            frames += (os.path.getsize(path + "-wal") - 32) // FRAME_BYTES
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cpu = time.process_time() - start
    if os.path.exists(path + "-wal"):
        frames += max(0, os.path.getsize(path + "-wal") - 32) // FRAME_BYTES
    db.close()
    remove_database(path)
    return cpu / purchases * 1e6, frames / purchases


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--purchases", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--random-keys", action="store_true")
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    directory = args.dir or tempfile.mkdtemp(prefix="laurel-without-rowid-")
    path = os.path.join(directory, "purchases.sqlite")
    print(f"{args.purchases} purchases in batches of {args.batch}, {'random' if args.random_keys else 'sequential'} order ids")
    print("| round | schema | CPU µs/purchase | log frames/purchase |")
    print("|---|---|---|---|")
    for round in range(1, args.rounds + 1):
        # Alternate which goes first, so that a drift of the machine's speed favours neither.
        for without_rowid in ((False, True) if round % 2 else (True, False)):
            cpu, frames = run(path, without_rowid, args.purchases, args.batch, args.random_keys)
            print(f"| {round} | {'WITHOUT ROWID' if without_rowid else 'rowid + key index'} | {cpu:.1f} | {frames:.2f} |", flush=True)


if __name__ == "__main__":
    main()
