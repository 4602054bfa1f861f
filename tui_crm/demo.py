"""Build a realistic demo database quickly enough for a million customers.

Faker is slow per call, so it fills small pools once and customers are composed from them
at random; rows go in with `executemany` in large write transactions.
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
import functools
import gc
import itertools
import multiprocessing
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faker import Faker
from stdnum.cn import ric, uscc

from . import analytics, audit
from .bulk import (
    NewCustomer,
    PreparedCustomers,
    ReservedIds,
    deferred_indexes,
    end_with,
    prepare_customers,
    reserve_ids,
    write_prepared,
    young_collections_only,
)
from .config import AnalyticsSettings
from .crypto import KeyRing, create_key_file
from .db import Database, set_meta
from .passwords import hash_password
from .validation import COMPANY_SIZES, Channel, FollowUpResult, Source

BATCH = 10_000
BUILD_CACHE_KIB = 64 * 1024
DEMO_PASSWORD = "demo"
INDUSTRY_WEIGHTS = {
    "C": 30,
    "F": 20,
    "I": 12,
    "L": 8,
    "E": 6,
    "K": 4,
    "M": 5,
    "H": 4,
    "G": 3,
    "J": 2,
    "A": 1,
    "B": 1,
    "D": 1,
    "N": 1,
    "O": 1,
    "P": 1,
    "Q": 1,
    "R": 1,
    "S": 0.5,
    "T": 0.2,
}
CN_INDUSTRY_WORDS = [
    "科技",
    "贸易",
    "制造",
    "电子",
    "机械",
    "物流",
    "食品",
    "建材",
    "软件",
    "咨询",
    "医疗器械",
    "新能源",
    "化工",
    "服饰",
    "文化传媒",
    "餐饮管理",
    "信息技术",
]
CN_SUFFIXES = ["有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司"]
EN_SUFFIXES = ["Ltd", "Inc", "LLC", "Holdings", "Group", "Trading Co", "Technologies"]
REGIONS = [
    ("北京市", "北京", "110101"),
    ("上海市", "上海", "310101"),
    ("广东省", "深圳", "440305"),
    ("广东省", "广州", "440103"),
    ("浙江省", "杭州", "330106"),
    ("四川省", "成都", "510104"),
    ("湖北省", "武汉", "420102"),
    ("江苏省", "南京", "320102"),
    ("江苏省", "苏州", "320505"),
    ("山东省", "青岛", "370202"),
    ("天津市", "天津", "120101"),
    ("重庆市", "重庆", "500103"),
]
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "158",
    "159",
    "186",
    "187",
    "188",
    "189",
    "177",
    "199",
]
HK_MOBILE_PREFIXES = ["61", "63", "64", "65", "69", "94", "96", "97"]  # all valid numbers
EMAIL_DOMAINS = [
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "gmail.com",
    "outlook.com",
    "example.com",
    "example.cn",
]
TAGS = {
    "industry": ["manufacturing", "制造业", "retail", "software", "logistics"],
    "need": ["purchase need", "采购需求", "service contract", "upgrade", "training"],
    "value": ["high value", "高价值", "medium value", "low value"],
    "custom": ["VIP", "trade show 2026", "needs invoice", "key account"],
}
CONTENT = [
    "Introduced the new product line; asked for a quote.",
    "电话沟通，客户对价格有疑问，需要再次报价。",
    "Visited the site with the engineer, confirmed requirements.",
    "客户反馈上次订单交付延迟，已协调解决。",
    "Sent the brochure and case studies by email.",
    "约定下周上门演示。",
    "Discussed renewal of the annual contract.",
    "No answer; left a message.",
]
INTERACTION_DETAIL = {
    "event": ["Attended the spring trade show booth", "参加产品发布会"],
    "complaint": ["Late delivery of order", "产品质量问题投诉", "Invoice was wrong"],
    "enquiry": ["Asked about bulk pricing", "咨询售后服务政策", "Asked for a demo"],
    "order": ["Purchase order", "采购订单", "Repeat order"],
    "other": ["Changed billing address", "其他事项"],
}


@dataclass(frozen=True)
class DemoStats:
    customers: int
    followups: int
    interactions: int
    seconds: float
    users: list[str]


class _Pools:
    """Names, places and words drawn once from faker, then combined at random."""

    def __init__(self, rng: random.Random, seed: int) -> None:
        zh, en = Faker("zh_CN"), Faker("en_US")
        zh.seed_instance(seed)
        en.seed_instance(seed)
        self.zh_last = [zh.last_name() for _ in range(300)]
        self.zh_first = [zh.first_name() for _ in range(600)]
        self.zh_prefix = [zh.company_prefix() for _ in range(1500)]
        self.zh_city = [zh.city_name() for _ in range(300)]
        self.zh_address = [zh.street_address() for _ in range(2000)]
        self.zh_job = [zh.job() for _ in range(200)]
        self.roman_last = [zh.last_romanized_name().lower() for _ in range(200)]
        self.roman_first = [zh.first_romanized_name().lower() for _ in range(200)]
        self.en_last = [en.last_name() for _ in range(1000)]
        self.en_first = [en.first_name() for _ in range(800)]
        self.en_word = [en.word().title() for _ in range(800)]
        self.en_address = [en.street_address() + ", " + en.city() for _ in range(2000)]
        self.en_job = [en.job() for _ in range(200)]
        self.random = rng.random
        today = dt.date.today()
        self.days = [(today - dt.timedelta(days=back)).isoformat() for back in range(DAYS_BACK + 1)]

    def reseed(self, rng: random.Random) -> None:
        """Draw from `rng` from now on (each batch has its own, so workers agree)."""
        self.random = rng.random

    def stamp(self, days_back: int) -> str:
        """A working-hours time on the day `days_back` days ago."""
        hour, minute = 8 + int(self.random() * 11), int(self.random() * 60)
        return f"{self.days[days_back]}T{hour:02d}:{minute:02d}:00"

    def since(self, days_back: int) -> str:
        """A time on a day between `days_back` days ago and today (today's date included)."""
        return self.stamp(int(self.random() * max(days_back, 1)))

    def pick(self, pool: Sequence[Any]) -> Any:
        """A uniform choice at a fraction of `random.choice`'s cost (a million customers
        make some thirty choices each)."""
        return pool[int(self.random() * len(pool))]

    def weighted(self, table: tuple[Sequence[Any], list[float]]) -> Any:
        values, cumulative = table
        return values[bisect.bisect(cumulative, self.random() * cumulative[-1])]


def _weights(weights: dict[Any, float]) -> tuple[list[Any], list[float]]:
    return list(weights), list(itertools.accumulate(weights.values()))


INDUSTRIES = _weights(INDUSTRY_WEIGHTS)
TYPES = _weights({"prospect": 50, "customer": 35, "churned": 15})
# How each customer type's life looks (issue 11: tiers, churn and the funnel need it):
# prospects never order; customers order more; churned customers complain more. Weights
# follow INTERACTION_DETAIL (event, complaint, enquiry, order, other) and FollowUpResult.
INTERACTION_KINDS = {
    customer_type: _weights(dict(zip(INTERACTION_DETAIL, weights, strict=True)))
    for customer_type, weights in {
        "prospect": [2, 1, 6, 0, 1],
        "customer": [1, 1.5, 3, 7, 1],
        "churned": [1, 3, 2, 4, 1],
    }.items()
}
RESULTS = {
    customer_type: _weights(dict(zip((r.value for r in FollowUpResult), weights, strict=True)))
    for customer_type, weights in {
        "prospect": [3, 1, 0.5, 3, 2, 1],
        "customer": [3, 3, 2, 1, 0.5, 1],
        "churned": [1, 1, 1, 2, 3, 1],
    }.items()
}
CHANNELS = tuple(c.value for c in Channel)
SOURCES = tuple(s.value for s in Source)
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
DAYS_BACK = 3 * 365


def _mobile(rng: random.Random) -> str:
    prefix = MOBILE_PREFIXES[int(rng.random() * len(MOBILE_PREFIXES))]
    return f"{prefix}{int(rng.random() * 10**8):08d}"


def _id_number(rng: random.Random, region: str) -> str:
    """A valid resident ID number: checksum, and a region code that existed at birth."""
    while True:
        born = dt.date(1960, 1, 1) + dt.timedelta(days=int(rng.random() * 16000))
        if _region_existed(region, born.year):
            body = f"{region}{born:%Y%m%d}{int(rng.random() * 1000):03d}"
            return body + ric.calc_check_digit(body + "0")


@functools.cache
def _region_existed(region: str, year: int) -> bool:
    """Whether ID numbers of people born in `year` may carry `region` (what `ric.is_valid`
    checks beyond the checksum, a tenth of the demo's time when asked per number)."""
    try:
        ric.get_birth_place(f"{region}{year}0101000")
    except ValueError:
        return False
    return True


def _credit_code(rng: random.Random, region: str) -> str:
    random_ = rng.random
    body = "91" + region + "".join(CREDIT_ALPHABET[int(random_() * 31)] for _ in range(9))
    return body + uscc.calc_check_digit(body + "0")


def _customer(
    pools: _Pools, rng: random.Random, serial: int, owner_ids: list[int], today: dt.date
) -> dict[str, Any]:
    pick, random_ = pools.pick, rng.random
    roll = random_()
    province, city, region = pick(REGIONS)
    chinese = roll < 0.65
    person = roll < 0.2 or roll >= 0.9
    contact_zh = pick(pools.zh_last) + pick(pools.zh_first)
    if chinese and person:
        name = contact_zh
        kind = "person"
    elif chinese:
        name = (
            pick(pools.zh_city)
            + pick(pools.zh_prefix)
            + pick(CN_INDUSTRY_WORDS)
            + pick(CN_SUFFIXES)
        )
        kind = "company"
    elif person:
        name = f"{pick(pools.en_first)} {pick(pools.en_last)}"
        kind = "person"
    else:
        name = f"{pick(pools.en_last)} {pick(pools.en_word)} {pick(EN_SUFFIXES)}"
        kind = "company"
    contact = (
        name
        if kind == "person"
        else contact_zh
        if chinese
        else f"{pick(pools.en_first)} {pick(pools.en_last)}"
    )
    phone = (
        _mobile(rng)
        if chinese or random_() < 0.5
        else f"+852{pick(HK_MOBILE_PREFIXES)}{int(random_() * 10**6):06d}"
    )
    if chinese:
        latin = pick(pools.roman_first) + pick(pools.roman_last)
    else:
        words = contact.split()
        latin = words[0].lower() + "." + words[-1].lower()
    email = f"{latin}{int(random_() * 1000)}@{pick(EMAIL_DOMAINS)}" if random_() < 0.8 else ""
    if random_() < 0.1:
        phone = ""
        email = email or f"{latin}{serial}@example.com"
    days_back = int(random_() * DAYS_BACK)
    customer_type = pools.weighted(TYPES)
    return {
        "name": name,
        "kind": kind,
        "contact_name": contact,
        "contact_title": ""
        if kind == "person"
        else pick(pools.zh_job if chinese else pools.en_job),
        "phone": phone,
        "email": email,
        "id_number": _id_number(rng, region)
        if kind == "person" and chinese and random_() < 0.6
        else "",
        "credit_code": _credit_code(rng, region) if kind == "company" and chinese else "",
        "address": pick(pools.zh_address if chinese else pools.en_address),
        "province": province if chinese else "",
        "city": city if chinese else "",
        "industry": pools.weighted(INDUSTRIES),
        "customer_type": customer_type,
        "company_size": pick(COMPANY_SIZES) if kind == "company" else "",
        "source": pick(SOURCES),
        "notes": "",
        "owner_id": pick(owner_ids) if random_() < 0.95 else None,
        "created_at": pools.stamp(days_back),
        "days_back": days_back,
        "legal_hold": random_() < 0.002,
    }


def _child_count(rng: random.Random, mean: float) -> int:
    if rng.random() < 0.001:
        return rng.randrange(50, 300)
    return min(int(rng.expovariate(1 / mean)), 40)


@dataclass
class _Batch:
    """One batch of customers and their children; a child's first item is its customer's
    position in the batch until the customers are inserted and have ids."""

    customers: list[NewCustomer]
    children: dict[str, list[list[Any]]]


def _batch(
    pools: _Pools,
    rng: random.Random,
    first_serial: int,
    count: int,
    owner_ids: list[int],
    staff_ids: list[int],
    tag_ids: list[int],
    today: dt.date,
) -> _Batch:
    batch = _Batch([], {table: [] for table in CHILD_INSERTS})
    followups = batch.children["followups"]
    interactions = batch.children["interactions"]
    customer_tags = batch.children["customer_tags"]
    pick, random_ = pools.pick, rng.random
    upcoming = [(today + dt.timedelta(days=d)).isoformat() for d in range(-20, 30)]
    for index in range(count):
        c = _customer(pools, rng, first_serial + index, owner_ids, today)
        back = c.pop("days_back")
        last_at = None
        next_at = None
        staff = [c["owner_id"]] if c["owner_id"] else staff_ids
        for _ in range(_child_count(rng, 2.0)):
            at = pools.since(back)
            last_at = max(last_at or at, at)
            followups.append(
                [
                    index,
                    at,
                    pick(CHANNELS),
                    pick(CONTENT),
                    pools.weighted(RESULTS[c["customer_type"]]),
                    pick(staff),
                    None,
                ]
            )
        for _ in range(_child_count(rng, 1.5)):
            at = pools.since(back)
            last_at = max(last_at or at, at)
            kind = pools.weighted(INTERACTION_KINDS[c["customer_type"]])
            amount = int(rng.lognormvariate(10, 1.2)) * 100 if kind == "order" else None
            detail = pick(INTERACTION_DETAIL[kind])
            interactions.append([index, at, kind, detail, amount, pick(staff_ids)])
        if c["customer_type"] != "churned" and random_() < 0.35:
            next_at = pick(upcoming)
            at = last_at or c["created_at"]
            followups.append(
                [index, at, "phone", "Plan the next call.", "interest", pick(staff), next_at]
            )
            last_at = max(last_at or at, at)
        tags = min(len(tag_ids), int(rng.expovariate(1)))
        for tag_id in rng.sample(tag_ids, k=tags) if tags else ():
            customer_tags.append([index, tag_id, c["created_at"], None])
        batch.customers.append(
            NewCustomer(
                values=c,
                owner_id=c["owner_id"],
                created_at=c["created_at"],
                last_interaction_at=last_at,
                next_followup_at=next_at,
                legal_hold=c["legal_hold"],
                audit_details=DEMO_DETAILS,
            )
        )
    return batch


CHILD_INSERTS = {
    "followups": "INSERT INTO followups(customer_id, at, channel, content, result, staff_id,"
    " next_followup_date) VALUES (?, ?, ?, ?, ?, ?, ?)",
    "interactions": "INSERT INTO interactions(customer_id, at, kind, detail, amount_cents,"
    " staff_id) VALUES (?, ?, ?, ?, ?, ?)",
    "customer_tags": "INSERT INTO customer_tags(customer_id, tag_id, set_at, set_by)"
    " VALUES (?, ?, ?, ?)",
}
DEMO_DETAILS = {"demo": True}


@dataclass(frozen=True)
class _Plan:
    """What every batch of a build shares; a worker process gets it once."""

    keys: KeyRing
    seed: int
    ids: ReservedIds
    owner_ids: list[int]
    staff_ids: list[int]
    tag_ids: list[int]
    today: dt.date
    at: str


_Prepared = tuple[PreparedCustomers, dict[str, list[list[Any]]]]
_worker: tuple[_Plan, _Pools] | None = None


def _start_worker(plan: _Plan, pools: _Pools, builder_pid: int) -> None:
    global _worker
    _worker = (plan, pools)
    end_with(builder_pid)
    gc.disable()  # a worker collects young objects after each batch (see _prepare_in_worker)


def _prepare_in_worker(first: int, count: int) -> _Prepared:
    assert _worker is not None
    prepared = _prepare(*_worker, first, count)
    gc.collect(1)
    return prepared


def _prepare(plan: _Plan, pools: _Pools, first: int, count: int) -> _Prepared:
    """Customers `first` to `first + count` of the build (from 0) and their history, made,
    encrypted and sealed for the ids reserved for them; each batch draws from a generator
    of its own, so the data does not depend on how many workers made it."""
    rng = random.Random(f"{plan.seed}:{first}")
    pools.reseed(rng)
    batch = _batch(
        pools, rng, first + 1, count, plan.owner_ids, plan.staff_ids, plan.tag_ids, plan.today
    )
    prepared = prepare_customers(plan.keys, batch.customers, plan.ids, first, plan.at)
    for rows in batch.children.values():
        for row in rows:
            row[0] += prepared.first_id
    return prepared, batch.children


@contextmanager
def _prepared_batches(
    plan: _Plan, pools: _Pools, customers: int, workers: int
) -> Iterator[Iterator[_Prepared]]:
    """The build's batches in order; made by `workers` processes (forked, so the key ring
    and pools are never pickled) a few batches ahead of the writer, or here with none."""
    jobs = [(first, min(BATCH, customers - first)) for first in range(0, customers, BATCH)]
    if workers <= 0:
        yield (_prepare(plan, pools, first, count) for first, count in jobs)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(plan, pools, os.getpid()),
    ) as pool:

        def results() -> Iterator[_Prepared]:
            pending: collections.deque[Future[_Prepared]] = collections.deque()
            for first, count in jobs:
                pending.append(pool.submit(_prepare_in_worker, first, count))
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

        yield results()


@contextmanager
def _unjournaled(db: Database, db_path: Path, key_path: Path) -> Iterator[None]:
    """The bulk of a build written without a journal and without syncs: the database is
    new and nobody else has it yet, so a build cut short leaves nothing worth keeping,
    and it is removed (database and key) rather than left half-written."""
    for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{BUILD_CACHE_KIB}"):
        db.conn.execute(f"PRAGMA {pragma}").close()
    try:
        yield
    except BaseException:
        db.close()
        for path in (db_path, key_path, *(Path(f"{db_path}{end}") for end in ("-wal", "-shm"))):
            path.unlink(missing_ok=True)
        raise
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
        db.conn.execute(f"PRAGMA {pragma}").close()


def build_demo(
    db_path: Path,
    key_path: Path,
    *,
    customers: int = 5000,
    seed: int = 2026,
    actor: str = "demo",
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> DemoStats:
    """Create a new demo database and key file with users for every role.

    Customers are made, encrypted and sealed in worker processes (two on a machine with two
    cores or more, for builds of two batches or more) while this process writes them; the
    writes go through the bulk path (`bulk.write_prepared`) with every index built at the end.
    """
    started = time.perf_counter()
    keys = create_key_file(key_path)
    db = Database.create(db_path, keys)
    pools = _Pools(random.Random(seed), seed)
    today = dt.date.today()
    at = dt.datetime.now().isoformat(timespec="seconds")
    reps = max(3, min(50, customers // 20_000))
    usernames = ["admin", "manager", "service"] + [f"sales{i}" for i in range(1, reps + 1)]
    counts = {"followups": 0, "interactions": 0}
    with db.write() as tx:
        set_meta(tx, "demo", "1")
        for name in usernames:
            role = "sales" if name.startswith("sales") else name
            tx.execute(
                "INSERT INTO users(username, display_name, role, password_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, name.title(), role, hash_password(DEMO_PASSWORD), f"{today}T08:00:00"),
            )
        for tag_type, names in TAGS.items():
            tx.executemany(
                "INSERT INTO tags(tag_type, name) VALUES (?, ?)", [(tag_type, n) for n in names]
            )
        reserved = reserve_ids(tx, customers, today.year)
    ids = {r["username"]: r["id"] for r in db.conn.execute("SELECT id, username FROM users")}
    owner_ids = [ids[n] for n in usernames if n.startswith("sales")]
    staff_ids = [ids["service"], ids["manager"], *owner_ids]
    tag_ids = [r[0] for r in db.conn.execute("SELECT id FROM tags")]
    plan = _Plan(keys, seed, reserved, owner_ids, staff_ids, tag_ids, today, at)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if customers >= 2 * BATCH else 0
    done = 0
    with (
        _unjournaled(db, db_path, key_path),
        deferred_indexes(db),
        _prepared_batches(plan, pools, customers, workers) as batches,
        young_collections_only() as collect,
    ):
        for prepared, children in batches:
            with db.write() as tx:
                write_prepared(tx, keys, [prepared], actor=actor, at=at)
                for table, rows in children.items():
                    tx.executemany(CHILD_INSERTS[table], rows)
            counts["followups"] += len(children["followups"])
            counts["interactions"] += len(children["interactions"])
            done += len(prepared.rows)
            collect()
            if progress:
                progress(done, customers)
    with db.write() as tx:
        analytics.recompute_tiers(tx, AnalyticsSettings(), today)
        analytics.refresh_churn(tx, AnalyticsSettings(), today, remind=False)
        audit.append(
            tx,
            keys,
            at=dt.datetime.now().isoformat(timespec="seconds"),
            actor=actor,
            action="demo.build",
            details={"customers": customers, "seed": seed},
        )
    db.conn.execute("PRAGMA optimize").close()
    db.close()
    return DemoStats(
        customers,
        counts["followups"],
        counts["interactions"],
        time.perf_counter() - started,
        usernames,
    )
