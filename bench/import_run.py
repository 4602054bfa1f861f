"""One import measured in a process of its own: `python -m bench.import_run DB KEY CSV`.

Apart from bench/imports.py so the measured process loads only what an import loads (not
faker and the demo builder), and its peak RSS is the import's own. Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from tui_crm import audit, importer
from tui_crm.crypto import load_key_file
from tui_crm.db import Database

ROWS_CHECKED = 100_000  # the audit chain is verified after imports up to this size


def _descendants_rss_mb() -> float:
    """The resident memory of every process below this one (the cleaning workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    total, stack = 0, list(children.get(os.getpid(), []))
    while stack:
        pid = stack.pop()
        stack += children.get(pid, [])
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:")), 0)  # fmt: skip
    return total / 1024


def _peak_rss_mb() -> float:
    """This process's own peak resident memory. Not `ru_maxrss`: Linux carries that over
    from the parent through fork and exec, so under a 700 MB bench process every import
    "peaked" at 700 MB; VmHWM belongs to the memory this program mapped itself."""
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines()
                if line.startswith("VmHWM:")) / 1024  # fmt: skip


def measure(db_path: Path, key_path: Path, csv_path: Path) -> dict[str, float]:
    """One import, in this process: rows/s end to end, CPU seconds of this process, and peak
    RSS of this process and (sampled twice a second) of its worker processes together."""
    db = Database.open(db_path, load_key_file(key_path))
    options = importer.ImportOptions(legal_basis="contract", source="bench")
    peak_workers = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_workers
        while not done.wait(0.5):
            peak_workers = max(peak_workers, _descendants_rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started, cpu = time.perf_counter(), time.process_time()
    summary = importer.run_import(db, csv_path, options, actor="bench")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    done.set()
    own = _peak_rss_mb()
    ok = audit.verify(db.conn, db.keys).ok if summary.rows <= ROWS_CHECKED else True
    db.close()
    return {
        "rows": summary.rows,
        "seconds": seconds,
        "created": summary.created,
        "updated": summary.updated,
        "skipped": summary.skipped,
        "rejected": summary.rejected,
        "cpu": cpu,
        "rss_mb": own,
        "worker_rss_mb": peak_workers,
        "audit_ok": ok,
    }


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))))
