"""Issue 10 figure: exporting the customer list, end to end through the service (count,
snapshot read, decrypt, mask or reveal, write, fsync, audit), CSV and XLSX.

Target: 100k rows in at most 10 s. CPU seconds are printed too: on a shared, loaded
machine they are the figure that does not depend on the neighbours. Each size runs in
its own subprocess, so its peak RSS is its own; sizes above 100k are measured once.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from typing import Any

from bench.common import OUT, demo_paths, open_db, per_size, print_table
from tui_crm.listing import CustomerQuery
from tui_crm.roles import Role
from tui_crm.service import Service
from tui_crm.service.models import UserInfo

CASES = (
    ("csv", False),
    ("csv", True),
    ("xlsx", False),
    ("xlsx", True),
)


def measure(n: int) -> dict[str, Any]:
    db = open_db(*demo_paths(n)[:2])
    manager = db.conn.execute("SELECT id FROM users WHERE role = 'manager' LIMIT 1").fetchone()
    service = Service(db, UserInfo(manager[0], "manager", Role.MANAGER))
    folder = OUT / f"exports-{n}"
    folder.mkdir(parents=True, exist_ok=True)
    repeat = 3 if n <= 100_000 else 1
    result: dict[str, Any] = {}
    for fmt, reveal in CASES:
        samples, cpu = [], []
        for _ in range(repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            done = service.exports.customers(
                CustomerQuery(), folder / f"out.{fmt}", reveal=reveal, force=True
            )
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        key = f"{fmt}{'_reveal' if reveal else ''}"
        result[key] = statistics.median(samples)
        result[f"{key}_cpu"] = statistics.median(cpu)
        result[f"{key}_mb"] = (folder / f"out.{fmt}").stat().st_size / 1e6
        result["rows"] = done.rows
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    db.close()
    return result


def run(sizes: list[int]) -> None:
    results = per_size("bench.exports", sizes)
    print_table(
        "exports: the whole list through the service (target ≤ 10 s at 100k)",
        [
            "customers",
            "CSV s",
            "CSV revealed s",
            "XLSX s",
            "XLSX revealed s",
            "CSV CPU s",
            "XLSX CPU s",
            "CSV rows/s",
            "XLSX rows/s",
            "CSV MB",
            "XLSX MB",
            "peak RSS MB",
        ],
        [
            [
                n,
                r["csv"],
                r["csv_reveal"],
                r["xlsx"],
                r["xlsx_reveal"],
                r["csv_cpu"],
                r["xlsx_cpu"],
                r["rows"] / r["csv"],
                r["rows"] / r["xlsx"],
                r["csv_mb"],
                r["xlsx_mb"],
                r["rss_mb"],
            ]
            for n, r in results.items()
        ],
    )


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
