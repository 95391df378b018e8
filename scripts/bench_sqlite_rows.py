#!/usr/bin/env python3
"""What SQLite does with masked-input-sized rows: the round journal (protocol-spec/coordinator.md §6) stores each
accepted message as one row, and a chunked masked input (coordinator.md §7) is journaled as the one message it
assembles to, so at d = 10^7 (padded to 2^24 words) a row is 64 MiB.

Usage: python3 scripts/bench_sqlite_rows.py [--rows 10] [--mib 64] [--dir /tmp] --json bench/results/sqlite-rows-runN.json

Same settings as the coordinator's SQLite store (WAL, synchronous=FULL) and the same table; one transaction per row
(the journal flushes an accepted message before acknowledging it). Reports seconds per insert (commit included), the
time to read every row back (resume) and to delete them (the journal goes with the round's outcome), the file sizes,
and the load average before and after. Python's sqlite3 module drives the same SQLite engine the coordinator's
Microsoft.Data.Sqlite does (versions may differ: both are recorded).
"""
import argparse
import json
import os
import platform
import sqlite3
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10)
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--json", required=True)
    args = ap.parse_args()
    load_before = os.getloadavg()
    folder = tempfile.mkdtemp(prefix="sfr-sqlite-rows-", dir=args.dir)
    path = os.path.join(folder, "journal.db")
    try:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE round_journal (round_id BIGINT NOT NULL, sequence BIGINT NOT NULL, kind TEXT NOT NULL, "
                   "body BLOB NOT NULL, recorded_at BIGINT NOT NULL, PRIMARY KEY (round_id, sequence))")
        body = os.urandom(args.mib * 1024 * 1024 + 8)
        inserts = []
        for i in range(args.rows):
            started = time.perf_counter()
            db.execute("BEGIN")
            db.execute("INSERT INTO round_journal VALUES (1, ?, 'message', ?, 0)", (i + 1, body))
            db.execute("COMMIT")
            inserts.append(time.perf_counter() - started)
        wal = os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0
        size = os.path.getsize(path)
        started = time.perf_counter()
        rows = db.execute("SELECT body FROM round_journal WHERE round_id = 1 ORDER BY sequence").fetchall()
        read = time.perf_counter() - started
        assert len(rows) == args.rows and all(len(r[0]) == len(body) for r in rows)
        del rows
        started = time.perf_counter()
        db.execute("BEGIN")
        db.execute("DELETE FROM round_journal WHERE round_id = 1")
        db.execute("COMMIT")
        delete = time.perf_counter() - started
        version = db.execute("SELECT sqlite_version()").fetchone()[0]
        db.close()
    finally:
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        os.rmdir(folder)
    report = {
        "benchmark": "sqlite-rows",
        "rows": args.rows,
        "rowBytes": len(body),
        "sqliteVersion": version,
        "python": platform.python_version(),
        "insertSeconds": inserts,
        "readAllSeconds": read,
        "deleteAllSeconds": delete,
        "databaseBytes": size,
        "walBytes": wal,
        "loadAverageBefore": " ".join(f"{x:.2f}" for x in load_before),
        "loadAverageAfter": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "cores": os.cpu_count(),
    }
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"{args.rows} rows of {len(body)} B: insert {min(inserts):.3f}-{max(inserts):.3f} s each, read all {read:.3f} s, "
          f"delete all {delete:.3f} s (SQLite {version}, WAL, synchronous=FULL)")


if __name__ == "__main__":
    main()
