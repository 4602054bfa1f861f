"""The main screen at scale: first paint, search keystroke-to-paint, paging, peak RSS.

Each size runs in its own subprocess, so one size's memory never pollutes the next one's
peak RSS. The app runs headless (`run_test`); a search is timed from the last keystroke
until its results are on screen, next to the same query's raw SQL time. Pinyin queries
(`zw`, `zhangw`, `zhangwei`, `张wei`) are timed like the others, and a table compares the
search index with and without its pinyin tokens.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    build_seconds,
    demo_paths,
    median_ms,
    open_db,
    p95_ms,
    per_size,
    print_table,
    timings,
)
from tui_crm import listing, search_text
from tui_crm.app import CrmApp
from tui_crm.config import Settings
from tui_crm.db import Database
from tui_crm.roles import Role
from tui_crm.service import Service, UserInfo

REPEAT = 5
LAUNCHES = 7


def queries(db: Database) -> dict[str, str]:
    """The fixed query set; the full phone is one that exists in this database."""
    row = db.conn.execute(
        "SELECT id, phone_enc FROM customers WHERE phone_last4 IS NOT NULL ORDER BY id LIMIT 1"
    ).fetchone()
    phone = db.keys.decrypt(row["phone_enc"], "customers", "phone_enc", row["id"]) or ""
    return {
        "CJK 1": "张",
        "CJK 2": "张伟",
        "CJK 4": "北京科技",
        "Latin prefix": "ander",
        "code prefix": "C20260001",
        "full phone": phone,
        "4-digit tail": phone[-4:],
        "no match": "zzqxv",  # no pinyin syllable starts with v
        "pinyin zw": "zw",
        "pinyin zhangw": "zhangw",
        "pinyin zhangwei": "zhangwei",
        "mixed 张wei": "张wei",
    }


async def _first_paint(db_path: Path, key_path: Path, admin_id: int) -> float:
    """Seconds from opening the database to the first frame holding the list's rows.

    Every launch opens its own connection (cold SQLite page cache, as a real launch) and
    signs in without the password check; "painted" is the first compositor update after
    the table holds rows (the update that follows `show()` composites them). No idle
    waits: `pilot.pause()` waits for the whole process to go quiet, which times the machine.
    """
    from tui_crm.screens.customers import CustomersScreen
    from tui_crm.screens.login import LoginScreen
    from tui_crm.widgets.customer_table import CustomerTable

    started = time.perf_counter()
    db = open_db(db_path, key_path)
    service = Service(db, UserInfo(admin_id, "admin", Role.ADMIN))
    app = CrmApp(db, settings=Settings())
    painted: list[float] = []
    display = app._display

    def timed_display(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if not painted and isinstance(screen, CustomersScreen):
            tables = screen.query(CustomerTable)
            if tables and tables.first().rows:
                painted.append(time.perf_counter())

    app._display = timed_display  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)):
        while not isinstance(app.screen, LoginScreen):
            await asyncio.sleep(0.0005)
        app.pop_screen()
        app._signed_in(service)
        deadline = time.perf_counter() + 30
        while not painted and time.perf_counter() < deadline:
            await asyncio.sleep(0.0005)
    db.close()
    return painted[0] - started


async def _measure_app(
    db: Database, service: Service, texts: dict[str, str], paths: tuple[Path, Path]
) -> dict[str, Any]:
    from tui_crm.screens.customers import CustomersScreen
    from tui_crm.widgets.customer_table import CustomerTable

    await _first_paint(*paths, service.user.id)  # warm-up, not counted, at every size
    launches = [await _first_paint(*paths, service.user.id) for _ in range(LAUNCHES)]
    app = CrmApp(db, settings=Settings())
    result: dict[str, Any] = {"launch": median_ms(launches)}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.pop_screen()
        app._signed_in(service)
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        screen = app.screen
        assert isinstance(screen, CustomersScreen)
        table = screen.query_one(CustomerTable)
        search = screen.query_one("#search")
        samples: list[float] = []
        for _ in range(REPEAT):
            for text in texts.values():
                await pilot.press("slash")
                search.value = text[:-1]  # type: ignore[attr-defined]
                await app.workers.wait_for_complete()
                await pilot.pause()
                started = time.perf_counter()
                search.cursor_position = len(search.value)  # type: ignore[attr-defined]
                search.insert_text_at_cursor(text[-1])  # type: ignore[attr-defined]
                deadline = started + 10
                while screen.shown_query.text != text and time.perf_counter() < deadline:
                    await asyncio.sleep(0.0002)
                _paint(table)
                samples.append(time.perf_counter() - started)
        result["search_p50"] = median_ms(samples)
        result["search_p95"] = p95_ms(samples)
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table.focus()
        pages: list[float] = []
        for _ in range(20):
            started = time.perf_counter()
            table.action_page_down()
            _paint(table)
            pages.append(time.perf_counter() - started)
        result["pagedown"] = median_ms(pages)
        ends: list[float] = []
        for _ in range(REPEAT):
            await pilot.press("home")
            await pilot.pause()
            started = time.perf_counter()
            table.action_last()
            _paint(table)
            ends.append(time.perf_counter() - started)
        result["end"] = median_ms(ends)
    return result


def _paint(table: Any) -> None:
    """Render every visible line, as the compositor does for a refresh."""
    for y in range(table.size.height):
        table.render_line(y)


def measure(n: int) -> dict[str, Any]:
    """Every number for one size, in this process."""
    db_path, key_path, _ = demo_paths(n)
    db = open_db(db_path, key_path)
    admin = db.conn.execute("SELECT id FROM users WHERE role='admin' LIMIT 1").fetchone()[0]
    service = Service(db, UserInfo(admin, "admin", Role.ADMIN))
    texts = queries(db)
    sql = {
        label: median_ms(
            timings(
                lambda t=text: listing.page(
                    db.conn, db.keys, listing.CustomerQuery(text=t), None, limit=100
                ),
                repeat=REPEAT * 3,
            )
        )
        for label, text in texts.items()
    }
    result = asyncio.run(_measure_app(db, service, texts, (db_path, key_path)))
    result["sql"] = sql
    result["sql_mean"] = sum(sql.values()) / len(sql)
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def index_sizes(n: int) -> dict[str, float]:
    """MiB of the search index, as built and rebuilt without pinyin tokens (cached per DB).

    The rebuild writes the same documents minus their pinyin tokens into a scratch FTS5
    table of the same definition, so the difference is what pinyin costs.
    """
    db_path, _, _ = demo_paths(n)
    cached = db_path.with_name("index-sizes.json")
    if cached.exists():
        return json.loads(cached.read_text())
    conn = sqlite3.connect(db_path)
    definition = conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'customer_search'"
    ).fetchone()[0]
    with_pinyin = _fts_bytes(conn, "customer_search")
    with tempfile.TemporaryDirectory() as scratch:
        plain = sqlite3.connect(Path(scratch) / "plain.db")
        plain.execute(definition)
        plain.execute("BEGIN")
        plain.executemany(
            "INSERT INTO customer_search(rowid, doc) VALUES (?, ?)",
            (
                (rowid, search_text.without_pinyin(doc))
                for rowid, doc in conn.execute("SELECT rowid, doc FROM customer_search")
            ),
        )
        plain.execute("INSERT INTO customer_search(customer_search) VALUES ('optimize')")
        plain.execute("COMMIT")
        without = _fts_bytes(plain, "customer_search")
        plain.close()
    conn.close()
    sizes = {"with": with_pinyin / 2**20, "without": without / 2**20}
    cached.write_text(json.dumps(sizes))
    return sizes


def _fts_bytes(conn: sqlite3.Connection, table: str) -> int:
    return conn.execute(
        "SELECT sum(pgsize) FROM dbstat WHERE name = ? OR name LIKE ?", (table, f"{table}_%")
    ).fetchone()[0]


def run(sizes: list[int]) -> None:
    results = per_size("bench.search", sizes)
    rows = []
    for n, r in results.items():
        rows.append(
            [
                n,
                r["launch"],
                r["search_p50"],
                r["search_p95"],
                r["sql_mean"],
                r["search_p50"] / max(r["sql_mean"], 0.001),
                r["pagedown"],
                r["end"],
                r["rss_mb"],
            ]
        )
    print_table(
        "search: the main screen (ms; RSS in MB)",
        [
            "customers",
            "first paint",
            "search p50",
            "search p95",
            "SQL (mean of medians)",
            "p50 / SQL",
            "PageDown",
            "jump to end",
            "peak RSS",
        ],
        rows,
    )
    labels = list(next(iter(results.values()))["sql"])
    print_table(
        "search: raw SQL per query, first page of 100 (median ms)",
        ["customers", *labels],
        [[n, *(r["sql"][label] for label in labels)] for n, r in results.items()],
    )
    size_rows = []
    for n in results:
        index = index_sizes(n)
        per_100k = 100_000 / n
        size_rows.append(
            [
                n,
                index["without"] * per_100k,
                index["with"] * per_100k,
                index["with"] / index["without"],
                n / build_seconds(n),
            ]
        )
    print_table(
        "search: index size (MiB per 100k customers) and demo build rate",
        ["customers", "index w/o pinyin", "index with pinyin", "growth", "build customers/s"],
        size_rows,
    )


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
