"""Issue 14: the command line refuses a duplicate as the form warns of one, sets legal
holds as only admins may, and every rough edge is one clear line with the right status."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import customer_data
from tests.detail_app import DetailTestApp, sync
from tui_crm.cli import main
from tui_crm.roles import PERMISSIONS, Action, Role
from tui_crm.screens.customer_form import CustomerFormScreen
from tui_crm.service import PermissionDenied, Service
from tui_crm.validation import ValidationError

STRONG = "Correct-Horse-9\n"
Session = Callable[[str], Service]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "TUI_CRM_DB": str(tmp_path / "crm.db"),
        "TUI_CRM_KEY_FILE": str(tmp_path / "crm.key"),
    }


@pytest.fixture
def run(env: dict[str, str]) -> Callable[..., Result]:
    def invoke(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), input=stdin, env=env)

    return invoke


@pytest.fixture
def ready(run: Callable[..., Result]) -> Callable[..., Result]:
    assert run("init", "--admin", "root", "--password-stdin", stdin=STRONG).exit_code == 0
    return run


def one_line(result: Result, status: int = 1) -> str:
    """Standard error holds one line and the exit status is `status`."""
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output and "Usage:" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def add(run: Callable[..., Result], *extra: str) -> Result:
    return run("customer", "add", "--name", "Acme Co.", "--type", "prospect", *extra)


# --- item 6: the duplicate rule of the form, in the CLI ----------------------------------


def test_the_cli_refuses_a_second_customer_with_the_same_phone(ready) -> None:
    first = json.loads(add(ready, "--phone", "13800138000", "--json").output)["code"]
    again = add(ready, "--phone", "138 0013 8000", "--email", "new@example.com")
    line = one_line(again)
    assert first in line and "phone" in line and "--allow-duplicate" in line
    by_email = add(ready, "--phone", "13900139000", "--email", "x@example.com", "--json")
    second = json.loads(by_email.output)["code"]
    line = one_line(add(ready, "--phone", "13800138000", "--email", "X@Example.com"))
    assert f"{first} (same phone" in line and f"{second} (same email" in line
    forced = add(ready, "--phone", "13800138000", "--allow-duplicate", "--json")
    assert forced.exit_code == 0 and json.loads(forced.output)["code"] not in (first, second)
    assert "phone" in one_line(add(ready, "--phone", "12"))  # invalid first, as the form


def test_a_rep_is_told_of_a_colleagues_duplicate_only_by_code_and_owner(session) -> None:
    theirs = session("sales2").customers.create(customer_data(name="Hidden Name"))
    described = session("sales1").duplicates.described({"phone": "13800138000"})
    assert [(d.code, d.owner, d.matched) for d in described] == [
        (theirs.code, "sales2", ("phone",))
    ]
    assert "Hidden Name" not in repr(described)
    mine = session("sales1").customers.create(customer_data(phone="13900139000", email=""))
    assert [d.code for d in session("sales1").duplicates.described(customer_data())] == [
        mine.code if mine.phone == "13800138000" else theirs.code
    ]


# --- item 11: legal hold is the admins' ----------------------------------------------------


def test_only_admins_hold_and_the_readme_says_so() -> None:
    holders = {role for role, actions in PERMISSIONS.items() if Action.LEGAL_HOLD in actions}
    assert holders == {Role.ADMIN}
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert "legal hold for managers" not in readme
    assert "legal hold for admins only" in readme
    assert "tui-crm customer hold CODE --on\\|--off --reason TEXT" in readme


def test_legal_hold_needs_an_admin_and_a_reason(session: Session) -> None:
    customer = session("admin").customers.create(customer_data())
    for role in ("manager", "sales1", "service"):
        with pytest.raises(PermissionDenied):
            session(role).customers.set_legal_hold(customer.id, True, "court order")
    with pytest.raises(ValidationError, match="reason"):
        session("admin").customers.set_legal_hold(customer.id, True, "  ")
    held = session("admin").customers.set_legal_hold(customer.id, True, "court order 7")
    assert held.legal_hold and held.version == customer.version + 1
    details = (
        session("admin")
        .db.conn.execute("SELECT action FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetchone()
    )
    assert details[0] == "customer.legal_hold"


def test_the_cli_sets_and_lifts_a_legal_hold_with_a_reason(ready) -> None:
    code = json.loads(add(ready, "--phone", "13800138000", "--json").output)["code"]
    held = ready("customer", "hold", code, "--on", "--reason", "court order 7")
    assert held.exit_code == 0 and code in held.output
    assert json.loads(ready("customer", "show", code, "--json").output)["legal_hold"] is True
    entries = json.loads(ready("audit", "list", "--action", "customer.legal_hold", "--json").output)
    assert entries[0]["details"]["reason"] == "court order 7"
    assert ready("customer", "hold", code, "--off", "--reason", "case closed").exit_code == 0
    assert json.loads(ready("customer", "show", code, "--json").output)["legal_hold"] is False
    assert "--on or --off" in one_line(ready("customer", "hold", code, "--reason", "x"), 2)
    assert "reason" in one_line(ready("customer", "hold", code, "--on", "--reason", " "))


@sync
async def test_the_edit_form_offers_legal_hold_to_admins_only(session: Session) -> None:
    customer = session("admin").customers.create(customer_data())
    for role, offered in (("admin", True), ("manager", False)):
        service = session(role)
        form = CustomerFormScreen(service, service.customers.get(customer.id))
        app = DetailTestApp(service, form)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause()
            assert bool(form.query("#f-legal_hold")) is offered
            assert ("legal_hold" in form.field_names) is offered


# --- CLI rough edges ---------------------------------------------------------------------


def test_a_closed_pipe_ends_the_listing_quietly(ready, env: dict[str, str]) -> None:
    """`tui-crm audit list | head`: the reader is gone before anything is written."""
    for index in range(3):
        add(ready, "--phone", f"1380013800{index}", "--allow-duplicate")
    command = [sys.executable, "-c", "from tui_crm.cli import main; main()", "audit", "list"]
    child_env = {**os.environ, **env, "PYTHONPATH": str(Path(__file__).parents[1])}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()
    errors = child.stderr.read().decode()
    assert child.wait() == 1
    assert errors == ""


def test_an_export_to_a_missing_folder_names_the_path(ready, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "a.csv"
    line = one_line(ready("audit", "export", "--out", str(target)))
    assert str(target.parent) in line and "does not exist" in line


def test_a_file_error_names_its_path(ready, tmp_path: Path) -> None:
    missing = tmp_path / "gone.csv"
    line = one_line(ready("import", str(missing), "--legal-basis", "consent"))
    assert str(missing) in line


def test_a_negative_demo_size_is_refused(run, tmp_path: Path) -> None:
    line = one_line(run("--db", str(tmp_path / "d.db"), "demo", "--customers", "-5", "--no-run"), 2)
    assert "--customers" in line and "-5" in line
    assert not (tmp_path / "d.db").exists()


def test_dry_run_and_yes_exclude_each_other(ready) -> None:
    line = one_line(ready("purge", "--dry-run", "--yes"), 2)
    assert "--dry-run" in line and "--yes" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("audit", "list", "--since", "2026-02-30"), "2026-02-30 is not a real date"),
        (("audit", "export", "--out", "x.csv", "--until", "2025-02-29"), "is not a real date"),
        (("report", "activity", "--since", "2026-02-30"), "2026-02-30 is not a real date"),
        (("report", "funnel", "--until", "30/02/2026"), "must be a date written YYYY-MM-DD"),
    ],
)
def test_an_impossible_day_is_called_that(ready, args: tuple[str, ...], expected: str) -> None:
    line = one_line(ready(*args), 2)
    assert expected in line and "must be a date written" not in line.replace(expected, "")


def test_a_date_in_a_form_that_does_not_exist_is_called_that(session: Session) -> None:
    service = session("admin")
    customer = service.customers.create(customer_data())
    with pytest.raises(Exception, match="2026-02-30 is not a real date"):
        service.activity.add_followup(
            customer.id, channel="phone", content="call", next_followup_date="2026-02-30"
        )


@pytest.mark.parametrize(
    "args",
    [
        ("user", "add", "bob", "--role", "sales"),
        ("user", "passwd", "root"),
    ],
)
def test_no_password_prompt_without_a_terminal(ready, args: tuple[str, ...]) -> None:
    line = one_line(ready(*args, stdin="Correct-Horse-9\nCorrect-Horse-9\n"))
    assert "--password-stdin" in line and "GetPassWarning" not in line


def test_init_without_a_terminal_says_to_use_password_stdin(run) -> None:
    assert "--password-stdin" in one_line(run("init", "--admin", "root", stdin="x\n"))


def test_a_purge_confirmation_from_nowhere_purges_nothing(ready, env: dict[str, str]) -> None:
    code = json.loads(
        ready(
            "customer", "add", "--name", "Old", "--type", "churned", "--phone", "13800138000",
            "--json",
        ).output
    )["code"]  # fmt: skip
    from tui_crm.crypto import load_key_file
    from tui_crm.db import Database

    db = Database.open(Path(env["TUI_CRM_DB"]), load_key_file(Path(env["TUI_CRM_KEY_FILE"])))
    with db.write() as tx:
        tx.execute(
            "UPDATE customers SET created_at = '2000-01-01T00:00:00' WHERE code = ?", (code,)
        )
    db.close()
    line = one_line(ready("purge", stdin=""))
    assert "nothing was purged" in line and "--yes" in line
    assert ready("customer", "show", code).exit_code == 0


def test_usage_errors_are_one_line_too(ready) -> None:
    line = one_line(ready("customer", "add", "--name", "A"), 2)
    assert "Missing option '--type'" in line and "customer add --help" in line
    line = one_line(ready("customer", "add", "--name", "A", "--type", "lead"), 2)
    assert "'lead' is not one of" in line


def test_show_and_find_never_hand_the_terminal_an_escape(
    ready: Callable[..., Result], env: dict[str, str]
) -> None:
    """Text an older version stored as typed (an escape that retitles the window, clears
    the screen) is shown without it; the JSON keeps the stored value."""
    created = add(ready, "--phone", "13800138000", "--json")
    assert created.exit_code == 0, created.output
    code = json.loads(created.output)["code"]
    with sqlite3.connect(env["TUI_CRM_DB"]) as conn:
        conn.execute(
            "UPDATE customers SET name=?, notes=?",
            ("Acme\x1b]0;owned\x07 Co.", "line one\n\x1b[2Jline two"),
        )
    shown = ready("customer", "show", code)
    assert "\x1b" not in shown.output and "\x07" not in shown.output
    assert "Acme" in shown.output and "line one\n" in shown.output
    found = ready("customer", "find", "Acme")
    assert found.exit_code == 0 and "\x1b" not in found.output and "Acme" in found.output
    raw = json.loads(ready("customer", "show", code, "--json").output)
    assert raw["name"] == "Acme\x1b]0;owned\x07 Co."
