"""Issue 14 item 10: overdue plans marked in the list (not by colour alone), an owner
filter for customers nobody owns, and emoji drawn at the width the terminal draws them."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.cells import cell_len
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import OptionList
from wcwidth import wcwidth  # pyte's (a dev dependency) measure of a character

from tests.conftest import customer_data, hostile_strings
from tests.detail_app import DetailTestApp, press, sync
from tests.workers import workers_done
from tui_crm.cli import main
from tui_crm.db import Database
from tui_crm.listing import CustomerQuery, is_overdue
from tui_crm.screens.choice import ChoiceScreen
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.customers import CustomersScreen
from tui_crm.service import Service
from tui_crm.service.exports import audited_filters
from tui_crm.widgets.customer_header import CustomerHeader
from tui_crm.widgets.customer_table import OVERDUE_MARK, CustomerTable, layout
from tui_crm.widgets.terminal_text import terminal_safe, terminal_safe_text

Session = Callable[[str], Service]
TODAY = dt.date(2026, 3, 10)
SIZES = [(80, 24), (120, 40)]
# Emoji whose width Rich and terminals disagree on, as a name would hold them.
EMOJI = [
    "Keycap 1️⃣ Co",
    "#️⃣ Hash Ltd",
    "Flag 🇨🇳 Trading",
    "Family 👨‍👩‍👧 Store",
    "Café ☕️",
    "Love ❤️ Shop",
    "Thumbs 👍🏽 Inc",
    "Coder 👩🏽‍💻 Ltd",
    "Rainbow 🏳️‍🌈 Bar",
    "Scotland 🏴󠁧󠁢󠁳󠁣󠁴󠁿 Pub",
    "1️⃣2️⃣3️⃣4️⃣5️⃣6️⃣7️⃣8️⃣9️⃣🔟" * 4,  # cut inside the name column at any width
    "❤️" * 60,
]


def terminal_cells(text: str) -> int:
    """How many cells a terminal that adds up character widths one by one (tmux, xterm,
    pyte) moves the cursor for `text`."""
    return sum(max(wcwidth(character), 0) for character in text)


def _plan(service: Service, customer_id: int, day: str) -> None:
    """A plan for `day`, set directly (the service refuses plans in the past)."""
    with service.db.write() as tx:
        tx.execute("UPDATE customers SET next_followup_at=? WHERE id=?", (day, customer_id))


async def _settle(pilot: Pilot[None]) -> None:
    for _ in range(3):
        await workers_done(pilot.app)
        await pilot.pause()


def _lines(table: CustomerTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


def _next_followup(table: CustomerTable, line: str) -> str:
    """The Next f/u cell of a drawn row (the last column)."""
    return line[-layout(table.size.width)[-1][1] :]


# --- overdue ----------------------------------------------------------------------------


@pytest.mark.usefixtures("colour_modes")
@sync
async def test_overdue_plans_are_marked_in_the_list_at_80x24(session: Session) -> None:
    admin = session("admin")
    plans = {"Late Co": "2026-03-09", "Today Co": "2026-03-10", "Later Co": "2026-03-11"}
    for i, (name, day) in enumerate(plans.items()):
        created = admin.customers.create(customer_data(name=name, phone=f"1380013800{i}"))
        _plan(admin, created.id, day)
    admin.customers.create(customer_data(name="No Plan Co", phone="13800138009"))
    manager = session("manager")
    app = DetailTestApp(manager, CustomersScreen(manager, today=TODAY))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        table = app.screen.query_one(CustomerTable)
        assert table.size.width <= 80
        lines = {row.name: _lines(table)[i + 1] for i, row in enumerate(table.rows)}
        cells = {name: _next_followup(table, line).strip() for name, line in lines.items()}
        assert cells == {
            "Late Co": "2026-03-09" + OVERDUE_MARK,
            "Today Co": "2026-03-10",
            "Later Co": "2026-03-11",
            "No Plan Co": "",
        }
        late = table.rows.index(next(r for r in table.rows if r.name == "Late Co"))
        styles = {seg.style for seg in table.render_line(late + 1) if "2026" in seg.text}
        if not app.no_color:  # and in colour, the date itself stands out
            assert any(style and style.color for style in styles)


def test_the_list_marks_what_the_due_list_and_the_filter_call_overdue(session: Session) -> None:
    admin = session("admin")
    today = dt.date.today()
    for offset in (-3, -1, 0, 1):
        created = admin.customers.create(
            customer_data(name=f"Plan {offset}", phone=f"1380013801{offset + 3}", owner="sales1")
        )
        _plan(admin, created.id, (today + dt.timedelta(days=offset)).isoformat())
    rows = admin.customer_list.page(CustomerQuery(), limit=10)
    marked = {r.name for r in rows if is_overdue(r.next_followup_at, today.isoformat())}
    due = {d.name for d in admin.due.followups(today=today) if d.days_overdue > 0}
    filtered = {r.name for r in admin.customer_list.page(CustomerQuery(due="overdue"))}
    assert marked == due == filtered == {"Plan -3", "Plan -1"}


@sync
async def test_the_detail_header_says_overdue_in_words(session: Session) -> None:
    admin = session("admin")
    created = admin.customers.create(customer_data(name="Late Co"))
    _plan(admin, created.id, "2026-03-09")
    app = DetailTestApp(admin, CustomerDetailScreen(admin, created.id, today=TODAY.isoformat()))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        assert "2026-03-09 overdue" in str(app.screen.query_one(CustomerHeader).render())


# --- unassigned ---------------------------------------------------------------------------


@pytest.fixture
def mixed(db: Database, session: Session) -> Database:
    """Two customers owned by sales1, one by sales2, two owned by nobody."""
    admin = session("admin")
    for i, owner in enumerate(["sales1", "sales1", "sales2", None, None]):
        admin.customers.create(
            customer_data(name=f"{owner or 'Nobody'} {i}", phone=f"1390013900{i}", owner=owner)
        )
    return db


def test_the_unassigned_filter_in_the_service(mixed: Database, session: Session) -> None:
    manager, rep = session("manager"), session("sales1")
    query = CustomerQuery(unassigned=True)
    assert {r.name for r in manager.customer_list.page(query)} == {"Nobody 3", "Nobody 4"}
    assert manager.customer_list.count(query) == (2, False)
    assert {r.owner for r in manager.customer_list.page(query)} == {""}
    assert rep.customer_list.page(query) == [] and rep.customer_list.count(query) == (0, False)
    assert manager.customer_list.filter_choices().unassigned
    assert session("service").customer_list.filter_choices().unassigned
    assert not rep.customer_list.filter_choices().unassigned
    assert audited_filters(query)["unassigned"] is True
    with pytest.raises(ValueError):
        CustomerQuery(owner_id=1, unassigned=True)


def _owner_options(app: DetailTestApp) -> list[str]:
    assert isinstance(app.screen, ChoiceScreen)
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


@sync
async def test_owner_filter_offers_unassigned_and_exports_it(
    mixed: Database, session: Session, tmp_path: Path
) -> None:
    manager = session("manager")
    app = DetailTestApp(manager, CustomersScreen(manager, today=TODAY))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        await press(pilot, "o")
        assert _owner_options(app)[:2] == ["(any)", "unassigned"]
        await press(pilot, "down", "enter")
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, CustomersScreen)
        assert {r.name for r in screen.query_one(CustomerTable).rows} == {"Nobody 3", "Nobody 4"}
        assert "owner: unassigned" in str(screen.status_text)
        out = tmp_path / "unassigned.csv"
        manager.exports.customers(screen.list_query, out)
        with out.open(encoding="utf-8-sig", newline="") as handle:
            assert sorted(row[1] for row in list(csv.reader(handle))[1:]) == [
                "Nobody 3",
                "Nobody 4",
            ]
        await press(pilot, "o", "enter")  # (any) again
        await _settle(pilot)
        assert len(screen.query_one(CustomerTable).rows) == 5
        assert not screen.list_query.unassigned


@sync
async def test_a_sales_rep_is_not_offered_unassigned(mixed: Database, session: Session) -> None:
    rep = session("sales1")
    app = DetailTestApp(rep, CustomersScreen(rep, today=TODAY))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        await press(pilot, "o")
        assert _owner_options(app) == ["(any)", "sales1"]


def test_cli_export_unassigned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUI_CRM_CONFIG", str(tmp_path / "none.toml"))
    env = {"TUI_CRM_DB": str(tmp_path / "crm.db"), "TUI_CRM_KEY_FILE": str(tmp_path / "k")}

    def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args), env=env, input=stdin)
        return result.exit_code, result.output

    assert run("init", "--admin", "boss", "--password-stdin", stdin="Str0ng-pass-word\n")[0] == 0
    for i, (name, owner) in enumerate((("Owned Co", ["--owner", "boss"]), ("Nobody Co", []))):
        phone = ["--phone", f"1380013800{i}"]
        code, text = run("customer", "add", "--name", name, "--type", "prospect", *phone, *owner)
        assert code == 0, text
    out = tmp_path / "nobody.csv"
    code, text = run("export", "--out", str(out), "--unassigned")
    assert code == 0, text
    with out.open(encoding="utf-8-sig", newline="") as handle:
        assert [row[1] for row in list(csv.reader(handle))[1:]] == ["Nobody Co"]
    code, text = run("export", "--out", str(tmp_path / "x.csv"), "--owner", "boss", "--unassigned")
    assert code != 0 and "--unassigned" in text and len(text.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


# --- width ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [*EMOJI, *(entry["text"] for entry in hostile_strings())])
def test_safe_text_is_as_wide_for_rich_as_for_a_terminal(text: str) -> None:
    safe = terminal_safe(text)
    assert cell_len(safe) == terminal_cells(safe)
    assert "\x1b" not in safe and "\u202e" not in safe


def test_safe_text_keeps_styles_on_what_remains() -> None:
    text = Text("Tel ")
    text.append("1️⃣🇨🇳", "bold")
    text.append(" end", "red")
    safe = terminal_safe_text(text)
    assert safe.plain == "Tel 1CN end"
    assert [(s.start, s.end, s.style) for s in safe.spans] == [(4, 7, "bold"), (7, 11, "red")]
    plain = Text("nothing to do")
    assert terminal_safe_text(plain) is plain


def _emoji_customers(session: Session) -> list[int]:
    admin = session("admin")
    ids = []
    names = [*EMOJI, *(entry["text"] for entry in hostile_strings())]
    for i, name in enumerate(names):
        try:
            created = admin.customers.create(
                customer_data(name=name, contact_name=name[:40], phone=f"1370013{i:04d}")
            )
        except ValueError:
            continue  # refused with a reason (e.g. only spaces)
        _plan(admin, created.id, "2026-03-01")
        ids.append(created.id)
    return ids


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@sync
async def test_rows_with_emoji_are_exactly_the_width_a_terminal_draws(
    session: Session, size: tuple[int, int]
) -> None:
    _emoji_customers(session)
    manager = session("manager")
    app = DetailTestApp(manager, CustomersScreen(manager, today=TODAY))
    async with app.run_test(size=size) as pilot:
        await _settle(pilot)
        table = app.screen.query_one(CustomerTable)
        width = table.scrollable_content_region.width
        assert table.region.right <= size[0]
        seen = 0
        while True:
            for line in _lines(table)[1:]:
                assert cell_len(line) == width
                assert terminal_cells(line) == width, line
            seen += len(_lines(table)) - 1
            if seen >= len(table.rows):
                break
            await press(pilot, "pagedown")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@sync
async def test_the_detail_header_leaves_no_fragments(
    session: Session, size: tuple[int, int]
) -> None:
    manager = session("manager")
    for customer_id in _emoji_customers(session)[: len(EMOJI)]:
        screen = CustomerDetailScreen(manager, customer_id, today=TODAY.isoformat())
        app = DetailTestApp(manager, screen)
        async with app.run_test(size=size) as pilot:
            await _settle(pilot)
            header = app.screen.query_one(CustomerHeader)
            room = header.content_region.width
            for line in header.render().split():
                assert terminal_cells(line.plain) == line.cell_len <= room, line.plain
