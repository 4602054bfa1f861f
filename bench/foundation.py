"""Issue 2 figures: demo build rate, field encrypt+decrypt rate, database size per 100k."""

from __future__ import annotations

import os
import statistics
import time

from bench.common import build_seconds, demo_paths, print_table
from tui_crm.crypto import KeyRing


def _crypto_rate(rounds: int = 20_000, repeat: int = 5) -> tuple[float, float]:
    """Encrypt+decrypt round trips per second, and blind-index HMACs per second (medians)."""
    keys = KeyRing.from_master(os.urandom(32))
    trips, hmacs = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        for i in range(rounds):
            blob = keys.encrypt("13800138000", "customers", "phone_enc", i)
            keys.decrypt(blob, "customers", "phone_enc", i)
        trips.append(rounds / (time.perf_counter() - started))
        started = time.perf_counter()
        for _ in range(rounds):
            keys.blind_index("phone", "13800138000")
        hmacs.append(rounds / (time.perf_counter() - started))
    return statistics.median(trips), statistics.median(hmacs)


def run(sizes: list[int]) -> None:
    rows = []
    for n in sizes:
        db_path, _, _ = demo_paths(n)
        seconds = build_seconds(n)
        size = db_path.stat().st_size
        rows.append([n, seconds, n / seconds, size / 2**20, size / 2**20 * 100_000 / n])
    print_table(
        "foundation: demo build and database size",
        ["customers", "build s", "customers/s", "db MiB", "MiB per 100k"],
        rows,
    )
    trips, hmacs = _crypto_rate()
    print_table(
        "foundation: field crypto (AES-256-GCM, one phone number)",
        ["encrypt+decrypt / s", "blind index / s"],
        [[trips, hmacs]],
    )
