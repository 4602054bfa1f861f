"""Shared benchmark helpers: cached demo databases per size, timing and table printing."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tui_crm.crypto import load_key_file
from tui_crm.db import Database
from tui_crm.demo import build_demo

OUT = Path(os.environ.get("TUI_CRM_BENCH_DIR", Path(__file__).parent / "out"))
SEED = 7


@contextmanager
def _lock(name: str) -> Iterator[None]:
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def demo_paths(n: int) -> tuple[Path, Path, float | None]:
    """A demo database of `n` customers, built once and reused; returns build seconds if built."""
    db_path = OUT / f"demo-{n}" / "demo.db"
    key_path = db_path.with_name("demo.db.key")
    seconds = None
    with _lock(f"demo-{n}"):
        done = db_path.with_name("done")
        if not done.exists():
            shutil.rmtree(db_path.parent, ignore_errors=True)
            stats = build_demo(db_path, key_path, customers=n, seed=SEED)
            seconds = stats.seconds
            done.write_text(f"{stats.seconds}\n")
    return db_path, key_path, seconds


def build_seconds(n: int) -> float:
    db_path, _, built = demo_paths(n)
    return built if built is not None else float(db_path.with_name("done").read_text())


def copy_of(n: int, name: str) -> tuple[Path, Path]:
    """A private copy of the size-`n` database, for benchmarks that write."""
    db_path, key_path, _ = demo_paths(n)
    target = OUT / f"copy-{name}-{n}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy2(db_path, target / "demo.db")
    shutil.copy2(key_path, target / "demo.db.key")
    return target / "demo.db", target / "demo.db.key"


def open_db(db_path: Path, key_path: Path) -> Database:
    return Database.open(db_path, load_key_file(key_path))


def per_size(module: str, sizes: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Each size measured by `python -m <module> N` in its own process (which prints one
    JSON object last), so one size's memory never pollutes the next one's peak RSS."""
    results = {}
    for n in sizes:
        demo_paths(n)
        out = subprocess.run(
            [sys.executable, "-m", module, str(n)],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        results[n] = json.loads(out.stdout.strip().splitlines()[-1])
    return results


def timings(fn: Callable[[], Any], repeat: int = 15, warmup: int = 2) -> list[float]:
    """Wall-clock seconds of each call after `warmup` calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000


def p95_ms(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


def print_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    rows = [[_fmt(cell) for cell in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    print(f"\n## {title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")


def _fmt(cell: Any) -> str:
    if isinstance(cell, float):
        return f"{cell:,.2f}" if cell < 1000 else f"{cell:,.0f}"
    if isinstance(cell, int):
        return f"{cell:,}"
    return str(cell)
