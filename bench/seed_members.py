#!/usr/bin/env python3
"""Grows a members database by N members, for the benchmark's table-size runs.

Each new member is a copy of one real member (enrolled through the API, so
every column holds a valid value), with its unique columns suffixed. They have
no points, lots or ledger entries, so every balance still equals its ledger.
Enrolling a million members through the API would take the best part of an
hour here; this takes seconds, and the benchmark's own members are enrolled
through the API as usual.

    bench/seed_members.py --db members.sqlite --template <member id> --count 1000000
"""
import argparse
import sqlite3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--template", required=True, help="id of the member to copy")
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()

    db = sqlite3.connect(args.db, timeout=30)
    info = list(db.execute("PRAGMA table_info(member)"))
    columns = [row[1] for row in info]
    integer = {row[1] for row in info if row[2].upper().startswith("INT")}
    rowid = {row[1] for row in info if row[5] and row[2].upper() == "INTEGER"}
    unique = set()
    for index in db.execute("PRAGMA index_list(member)"):
        if index[2]:  # unique
            unique.update(row[2] for row in db.execute(f"PRAGMA index_info('{index[1]}')"))
    # No points: a copy has no lots or ledger entries to match them.
    zero = {"available", "held", "lifetime_earned", "debt"}

    def value(column):
        if column in rowid:
            return "NULL"
        if column in unique and column in integer:
            start = db.execute(f"SELECT COALESCE(MAX({column}), 0) FROM member").fetchone()[0]
            return f"{start} + n.i"
        if column in unique:
            return f"CASE WHEN t.{column} IS NULL THEN NULL ELSE t.{column} || '-seed-' || n.i END"
        return "0" if column in zero else f"t.{column}"

    values = [value(c) for c in columns]
    with db:
        db.execute(
            f"""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO member ({", ".join(columns)})
            SELECT {", ".join(values)} FROM n, member AS t WHERE t.id = ?
            """,
            (args.count, args.template),
        )
        # The indexed copy of the attributes, where the schema has one.
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'member_attribute'").fetchone():
            db.execute(
                """
                INSERT INTO member_attribute (member_seq, key, value)
                SELECT m.seq, a.key, a.value FROM member m, json_each(m.attributes) a
                WHERE m.seq > (SELECT COALESCE(MAX(member_seq), 0) FROM member_attribute)
                """
            )
    total = db.execute("SELECT COUNT(*) FROM member").fetchone()[0]
    print(f"members now {total}")


if __name__ == "__main__":
    main()
