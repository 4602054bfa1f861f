"""Issue 10 figures: imports into databases of each size, the demo build rate, peak RSS.

Targets: a clean and a messy (10% bad rows, 10% duplicates) 100k-row CSV into a database
that already holds 1M customers at >= 10,000 rows/s end to end (read, validate, dedup,
encrypt, index, audit); the demo builder at >= 20,000 customers/s; an import of 1M rows
in <= 300 MB peak RSS (worker processes included). Each import runs in its own
subprocess on a private copy of the cached demo database, so its RSS is its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
from pathlib import Path

from bench.common import OUT, build_seconds, copy_of, open_db, print_table
from tui_crm.demo import _customer, _mobile, _Pools

ROWS = 100_000
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
HEADER = ["客户名称", "联系人", "职务", "手机", "邮箱", "统一社会信用代码", "行业", "客户类型",
          "地址", "省份", "城市", "公司规模", "来源", "备注"]  # fmt: skip
TYPES = {"prospect": "潜在", "customer": "成交", "churned": "流失"}


def _existing_phones(db_path: Path, key_path: Path, count: int) -> list[str]:
    db = open_db(db_path, key_path)
    rows = db.conn.execute(
        "SELECT id, phone_enc FROM customers WHERE phone_enc IS NOT NULL ORDER BY random() LIMIT ?",
        (count,),
    ).fetchall()
    phones = [
        db.keys.decrypt(r["phone_enc"], "customers", "phone_enc", r["id"]) or "" for r in rows
    ]
    db.close()
    return phones


def write_csv(path: Path, rows: int, messy: bool, existing: list[str], seed: int) -> None:
    """Customers as a Chinese CRM export would hold them; messy: 10% bad, 10% duplicates
    (half of an earlier row of the file, half of a customer already in the database)."""
    rng = random.Random(seed)
    pools = _Pools(rng, seed)
    today = dt.date.today()
    earlier: list[str] = []
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for serial in range(rows):
            c = _customer(pools, rng, serial + 10_000_000, [1], today)
            phone = c["phone"] or _mobile(rng)
            roll = rng.random() if messy else 1.0
            if roll < 0.05:
                phone = phone[:7]  # too short
            elif roll < 0.1:
                c["email"] = c["email"].replace("@", " at ") or "nobody at example.com"
            elif roll < 0.15 and earlier:
                phone = rng.choice(earlier)
            elif roll < 0.2 and existing:
                phone = rng.choice(existing)
            if len(earlier) < 10_000:
                earlier.append(phone)
            writer.writerow(
                [c["name"], c["contact_name"], c["contact_title"], phone, c["email"],
                 c["credit_code"], c["industry"], TYPES[c["customer_type"]], c["address"],
                 c["province"], c["city"], c["company_size"], c["source"], ""]
            )  # fmt: skip


def _in_subprocess(db_path: Path, key_path: Path, csv_path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.import_run", str(db_path), str(key_path), str(csv_path)],
        check=True,
        stdout=subprocess.PIPE,
    )
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def _median_run(n: int, csv_path: Path) -> tuple[dict[str, float], list[float]]:
    """The import of `csv_path` into a fresh copy of the size-`n` database, REPEAT times:
    the run of median speed, and every run's rows/s (the machine is shared and noisy)."""
    results = []
    for _ in range(REPEAT):
        db_path, key_path = copy_of(n, "imports")
        results.append(_in_subprocess(db_path, key_path, csv_path))
    results.sort(key=lambda r: r["seconds"])
    return results[len(results) // 2], [r["rows"] / r["seconds"] for r in results]


def run(sizes: list[int]) -> None:
    files = OUT / "import-files"
    files.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in sizes:
        db_path, key_path = copy_of(n, "imports")
        existing = _existing_phones(db_path, key_path, 5000)
        for kind in ("clean", "messy"):
            csv_path = files / f"{kind}-{n}.csv"
            write_csv(csv_path, ROWS, kind == "messy", existing, seed=n)
            result, rates = _median_run(n, csv_path)
            rows.append(
                [n, kind, ROWS, result["created"], result["skipped"], result["rejected"],
                 result["seconds"], ROWS / result["seconds"],
                 f"{min(rates):,.0f}-{max(rates):,.0f}", result["cpu"], result["rss_mb"],
                 result["worker_rss_mb"], "ok" if result["audit_ok"] else "BROKEN"]
            )  # fmt: skip
    print_table(
        f"imports: 100k-row CSV into a database of N customers (median of {REPEAT})",
        ["customers", "file", "rows", "created", "skipped", "rejected", "seconds", "rows/s",
         "rows/s range", "main CPU s", "RSS MB", "workers RSS MB", "audit"],
        rows,
    )  # fmt: skip
    builds = [[n, build_seconds(n), n / build_seconds(n), _built_at(n)] for n in sizes]
    print_table(
        "imports: demo build on the bulk path (as cached: rebuild by removing its folder)",
        ["customers", "s", "customers/s", "built"],
        builds,
    )
    big = max(sizes)
    if big >= 1_000_000:
        csv_path = files / "clean-1m.csv"
        if not csv_path.exists():
            write_csv(csv_path, 1_000_000, False, [], seed=1)
        db_path, key_path = copy_of(min(sizes), "imports")
        result = _in_subprocess(db_path, key_path, csv_path)
        total = result["rss_mb"] + result["worker_rss_mb"]
        print_table(
            f"imports: peak RSS of a 1M-row import into {min(sizes):,} customers",
            ["rows", "seconds", "rows/s", "main CPU s", "RSS MB", "workers RSS MB",
             "together MB"],
            [[result["rows"], result["seconds"], result["rows"] / result["seconds"],
              result["cpu"], result["rss_mb"], result["worker_rss_mb"], total]],
        )  # fmt: skip


def _built_at(n: int) -> str:
    done = OUT / f"demo-{n}" / "done"
    return dt.datetime.fromtimestamp(done.stat().st_mtime).isoformat(timespec="minutes")
