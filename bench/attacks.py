"""Issue 9's attacks, re-run after the fixes and reported as figures.

- Truncation: every way found of cutting the audit log short, each made with plain sqlite3
  (no key file) on a real database, then checked the way an admin does (`audit verify`
  through the service: the signed head, the backup manifests' recorded heads, a head line
  given with `--against`). The one attack no check can see, an old state put back with no
  backup and no head line kept elsewhere, is run too and reported apart (the README says so).
- Role bypass: every public service method called as each non-admin role on a customer that
  role may not see or touch, wherever the permission matrix says no: refused, nothing of the
  customer in the refusal, the row unchanged (the table is tests/test_service_scope.py's).
- kill -9 during `tui-crm backup restore ID --yes`, at random points of the restore: each
  time the database is either as before or the backup plus one audited restore, the chain
  verifies against every manifest, and the next backup leaves no copy behind.

    python -m bench attacks --sizes 10000    # kill rounds on a copy of the 10k demo database

The kill rounds use the smallest size given; the other two figures do not depend on size.
tests/test_attack_figures.py asserts the same figures on a small database.
"""

from __future__ import annotations

import dataclasses
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import copy_of, print_table
from tests.conftest import customer_data, make_database, signed_in
from tests.test_audit_integrity import DETECTABLE, REPLAY_WITHOUT_ANCHOR, detected
from tests.test_service_scope import ROLES, TABLE, must_refuse, plant_target, refusal_problem
from tui_crm import audit
from tui_crm.backup import BackupStore, Manifest
from tui_crm.config import Settings
from tui_crm.crypto import create_key_file, load_key_file
from tui_crm.db import Database
from tui_crm.service import Service

KILL_ROUNDS = 20
# The command line itself, started so the kill can wait until it is loaded.
RESTORER = textwrap.dedent(
    """
    import sys
    from tui_crm.cli import main

    print("start", flush=True)
    main(sys.argv[1:])
    """
)


@dataclasses.dataclass(frozen=True)
class Truncation:
    detected: dict[str, bool]
    undetectable_limit_detected: bool


def truncation_figures(folder: Path) -> Truncation:
    """Each truncation variant on its own database, verified as an admin does."""
    keys = create_key_file(folder / "keys" / "crm.key")
    found = {v: detected(folder / f"v{n}", keys, v) for n, v in enumerate(DETECTABLE)}
    limit = detected(folder / "limit", keys, REPLAY_WITHOUT_ANCHOR)
    return Truncation(found, limit)


@dataclasses.dataclass(frozen=True)
class RoleBypass:
    attempts: int
    problems: dict[str, str]  # "role method" -> what went wrong

    @property
    def refused(self) -> int:
        return self.attempts - len(self.problems)


def role_bypass_figures(folder: Path) -> RoleBypass:
    """Every (method, role) the matrix refuses on sales2's customer, attempted once."""
    db = make_database(folder)
    try:
        target = plant_target(signed_in(db, "admin"))
        cases = [(m, r) for m in sorted(TABLE) for r in ROLES if must_refuse(r, TABLE[m][0], m)]
        problems = {}
        for method, role in cases:
            problem = refusal_problem(method, signed_in(db, role), target, folder)
            if problem is not None:
                problems[f"{role} {method}"] = problem
        return RoleBypass(len(cases), problems)
    finally:
        db.close()


@dataclasses.dataclass(frozen=True)
class KillRounds:
    outcomes: list[str]  # "restored and audited", "rolled back", or what was wrong
    verified: int  # rounds after which `audit verify` (with every manifest) passed
    left_by_kill: int  # staged copies present before the next open (summed over rounds)
    residue_after_backup: int  # what was left after the next backup (summed over rounds)
    restore_seconds: float

    def count(self, outcome: str) -> int:
        return self.outcomes.count(outcome)


RESTORED = "restored and audited"
ROLLED_BACK = "rolled back"


def small_database(folder: Path, customers: int) -> tuple[Path, Path]:
    """A database of `customers` customers with the test users; returns (db, key) paths."""
    db = make_database(folder)
    admin = signed_in(db, "admin")
    for n in range(customers):
        admin.customers.create(customer_data(name=f"Company {n}", phone="", email=f"{n}@x.cn"))
    db.close()
    return folder / "crm.db", folder / "keys" / "crm.key"


def kill_restore_figures(
    db_path: Path, key_path: Path, rounds: int = KILL_ROUNDS, seed: int = 9
) -> KillRounds:
    """Take a full backup, then `rounds` times: change something, start `tui-crm backup
    restore ID --yes`, SIGKILL it at a random point of the restore, and judge what is left."""
    keys = load_key_file(key_path)
    settings = Settings(backup_dir=str(db_path.parent / "attack-backups"))
    store = BackupStore(Path(settings.backup_dir), keys)
    with _opened(db_path, key_path) as db:
        backup = Service.for_cli(db, "bench").backups.create(full=True, settings=settings)
    command = [
        *("--db", str(db_path), "--key-file", str(key_path)),
        *("backup", "--dir", settings.backup_dir, "restore", backup.id, "--yes"),
    ]
    started = time.perf_counter()
    _restorer(command).wait()
    duration = time.perf_counter() - started
    rng = random.Random(seed)
    outcomes: list[str] = []
    verified = left = residue = 0
    for n in range(rounds):
        with _opened(db_path, key_path) as db:
            Service.for_cli(db, "bench").customers.create(
                customer_data(name=f"Between {n}", phone="", email=f"between{n}@x.cn")
            )
            before = _state(db)
        child = _restorer(command)
        time.sleep(rng.uniform(0, duration))
        child.send_signal(signal.SIGKILL)
        child.wait()
        left += len(store.residue(db_path))
        with _opened(db_path, key_path) as db:
            outcomes.append(_outcome(db, store, backup, before))
            cli = Service.for_cli(db, "bench")
            verified += cli.audit_log.verify(settings=settings).ok
            cli.backups.create(full=True, settings=settings)
            residue += len(store.residue(db_path))
    return KillRounds(outcomes, verified, left, residue, duration)


@contextmanager
def _opened(db_path: Path, key_path: Path) -> Iterator[Database]:
    """The database, opened for one step of a round and closed after it."""
    db = Database.open(db_path, load_key_file(key_path))
    try:
        yield db
    finally:
        db.close()


def _restorer(command: list[str]) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", RESTORER, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "start"
    return child


def _state(db: Database) -> tuple[int, int, str]:
    customers = db.conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
    last = db.conn.execute("SELECT MAX(id) FROM audit_log").fetchone()[0]
    return customers, last, db.meta("audit_head") or ""


def _outcome(
    db: Database, store: BackupStore, backup: Manifest, before: tuple[int, int, str]
) -> str:
    if _state(db) == before:
        return ROLLED_BACK
    restores = audit.query(db.conn, db.keys, audit.AuditFilter(action=audit.RESTORE_ACTION))
    customers = db.conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
    expected = (backup.row_counts["customers"], backup.audit_max_id + 1)
    if (customers, _state(db)[1]) != expected:
        return f"neither: {customers} customers, last entry {_state(db)[1]}, expected {expected}"
    if len(restores) != 1 or not restores[0].actor.startswith("cli:"):
        return f"restored but audited {len(restores)} time(s)"
    if store.incremental_obstacle(db) is None:
        return "restored but the change log was not restarted"
    return RESTORED


def run(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="tui-crm-attacks-") as scratch:
        folder = Path(scratch)
        truncation = truncation_figures(folder / "truncation")
        bypass = role_bypass_figures(folder / "roles")
        n = min(sizes)
        db_path, key_path = copy_of(n, "attacks")
        kills = kill_restore_figures(db_path, key_path)
    found = sum(truncation.detected.values())
    print_table(
        "audit truncation (plain sqlite3, no key), verified as `audit verify`",
        ["variant", "detected"],
        [
            *[[v, "yes" if ok else "NO"] for v, ok in truncation.detected.items()],
            ["total", f"{found}/{len(truncation.detected)}"],
            [
                f"limit: {REPLAY_WITHOUT_ANCHOR}",
                "yes" if truncation.undetectable_limit_detected else "no (documented)",
            ],
        ],
    )
    print_table(
        f"role bypass: every public service method x {', '.join(ROLES)} (admins may do all)",
        ["methods", "attempts the matrix refuses", "refused cleanly", "problems"],
        [
            [
                len(TABLE),
                bypass.attempts,
                f"{bypass.refused}/{bypass.attempts}",
                len(bypass.problems),
            ]
        ],
    )
    for case, problem in bypass.problems.items():
        print(f"  {case}: {problem}")
    print_table(
        f"kill -9 during `backup restore --yes` ({n:,} customers,"
        f" one restore {kills.restore_seconds:.1f} s)",
        [
            *("rounds", RESTORED, ROLLED_BACK, "other", "verify ok"),
            *("files left by kills", "files after next backup"),
        ],
        [
            [
                len(kills.outcomes),
                kills.count(RESTORED),
                kills.count(ROLLED_BACK),
                len(kills.outcomes) - kills.count(RESTORED) - kills.count(ROLLED_BACK),
                f"{kills.verified}/{len(kills.outcomes)}",
                kills.left_by_kill,
                kills.residue_after_backup,
            ]
        ],
    )
    for outcome in sorted(set(kills.outcomes) - {RESTORED, ROLLED_BACK}):
        print(f"  {outcome}")
