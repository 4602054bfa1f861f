"""Keeping the base clean at scale: duplicate scan, single-record checks, export, report.

Targets (issue 10): a duplicate scan of 1M customers in at most 60 s; an export of 100k
rows in at most 10 s. Each size runs in its own subprocess so its peak RSS is its own.
Exports and the cleaning report run up to 100k customers (the export target's size).
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.common import OUT, demo_paths, median_ms, open_db, per_size, print_table, timings
from tui_crm import dedupe, export, quality

EXPORT_MAX = 100_000


def _median_s(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def measure(n: int) -> dict[str, Any]:
    """Every number for one size, in this process."""
    db = open_db(*demo_paths(n)[:2])
    repeat = 3 if n < 1_000_000 else 1
    scan_s, scan = _median_s(lambda: dedupe.scan(db.conn), repeat)
    scan_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    top = db.conn.execute("SELECT max(id) FROM customers").fetchone()[0]
    picks = random.Random(3).sample(range(1, top + 1), 1000)
    company = db.conn.execute(
        "SELECT id FROM customers WHERE kind = 'company' AND id >= ? ORDER BY id LIMIT 1",
        (picks[0],),
    ).fetchone()[0]
    one_ms = median_ms(
        timings(lambda: dedupe.candidates_for(db.conn, [company]), repeat=15, warmup=2)
    )
    batch_s, _ = _median_s(lambda: dedupe.candidates_for(db.conn, picks), repeat)
    result: dict[str, Any] = {
        "scan_s": scan_s,
        "pairs": scan.total,
        "scan_rss_mb": scan_rss,
        "one_ms": one_ms,
        "batch_s": batch_s,
    }
    if n <= EXPORT_MAX:
        folder = OUT / f"export-{n}"
        folder.mkdir(parents=True, exist_ok=True)
        for label, name, reveal in (
            ("csv", "out.csv", False),
            ("csv_reveal", "out.csv", True),
            ("xlsx", "out.xlsx", False),
        ):
            result[label], _ = _median_s(
                lambda name=name, reveal=reveal: export.export_customers(
                    db.conn, db.keys, folder / name, reveal=reveal, force=True
                ),
                repeat if label == "csv" else 1,
            )
        result["report_s"], _ = _median_s(lambda: quality.quality_report(db.conn, db.keys), 1)
    db.close()
    return result


def run(sizes: list[int]) -> None:
    results = per_size("bench.quality", sizes)
    print_table(
        "quality: duplicate scan (target ≤ 60 s at 1M) and checks after an import",
        [
            "customers",
            "scan s (median)",
            "candidate pairs",
            "peak RSS MB",
            "1 company ms",
            "1,000 records s",
        ],
        [
            [n, r["scan_s"], r["pairs"], r["scan_rss_mb"], r["one_ms"], r["batch_s"]]
            for n, r in results.items()
        ],
    )
    exported = {n: r for n, r in results.items() if "csv" in r}
    if exported:
        print_table(
            "quality: export of every customer (target ≤ 10 s at 100k) and cleaning report",
            [
                "customers",
                "CSV masked s",
                "CSV rows/s",
                "CSV revealed s",
                "XLSX masked s",
                "report s",
            ],
            [
                [n, r["csv"], n / r["csv"], r["csv_reveal"], r["xlsx"], r["report_s"]]
                for n, r in exported.items()
            ],
        )


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
