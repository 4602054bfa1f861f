"""A tag is one tag in any case or width: `vip` where `VIP` exists adds `VIP`; the tag
editor says so before adding; a database holding both merges them when it is upgraded."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input, OptionList, Static

from tests.conftest import customer_data, rewind_schema
from tests.detail_app import DetailTestApp, press, sync
from tui_crm import db as dbmodule
from tui_crm.db import Database
from tui_crm.screens.tag_editor import TagEditorScreen
from tui_crm.service import Service

Session = Callable[[str], Service]


def _two_customers(manager: Service) -> tuple[int, int]:
    first = manager.customers.create(customer_data(phone="13800138000", email=""))
    second = manager.customers.create(customer_data(phone="13900139000", email=""))
    return first.id, second.id


def test_tags_differing_only_in_case_or_width_are_one_tag(session: Session) -> None:
    manager = session("manager")
    first, second = _two_customers(manager)
    vip = manager.tags.add(first, "value", "VIP")
    assert manager.tags.add(second, "value", "vip") == vip
    assert manager.tags.add(second, "value", " ｖｉｐ ") == vip  # full width, spaces
    assert manager.tags.add(first, "custom", "vip").id != vip.id  # another type is another tag
    assert [t.name for t in manager.customers.get(second).tags] == ["VIP"]
    names = [r[0] for r in manager.db.conn.execute("SELECT name FROM tags ORDER BY id")]
    assert names == ["VIP", "vip"]
    assert [t.name for t in manager.tags.suggest("vI", "value")] == ["VIP"]
    assert [t.name for t in manager.tags.suggest("CAFÉ")] == []
    manager.tags.add(first, "need", "Café visit")
    assert [t.name for t in manager.tags.suggest("CAFÉ")] == ["Café visit"]


def test_tag_names_are_one_line_stored_as_typed(session: Session) -> None:
    manager = session("manager")
    first, _second = _two_customers(manager)
    assert manager.tags.add(first, "custom", "C++\tshop").name == "C++ shop"
    assert manager.tags.add(first, "custom", "🚀").name == "🚀"


def test_upgrade_merges_tags_stored_in_two_cases(db: Database, session: Session) -> None:
    manager = session("manager")
    first, second = _two_customers(manager)
    third = manager.customers.create(customer_data(phone="13700137000", email="")).id
    with db.write() as tx:
        tx.execute("INSERT INTO tags(tag_type, name) VALUES ('value', 'vip'), ('value', 'VIP')")
        tx.execute("INSERT INTO tags(tag_type, name) VALUES ('value', 'Vip'), ('need', 'VIP')")
        ids = {(r["tag_type"], r["name"]): r["id"] for r in tx.execute("SELECT * FROM tags")}
        tagged = [
            (first, ids[("value", "vip")]),
            (first, ids[("value", "VIP")]),  # both on one customer: kept once
            (second, ids[("value", "VIP")]),
            (third, ids[("value", "VIP")]),
            (third, ids[("value", "Vip")]),
            (second, ids[("need", "VIP")]),
        ]
        tx.executemany(
            "INSERT INTO customer_tags(customer_id, tag_id, set_at) VALUES (?, ?, '2026-01-01')",
            tagged,
        )
        rewind_schema(tx, dbmodule.MIGRATIONS.index(dbmodule._one_tag_per_name_in_any_case))
    reopened = Database.open(db.path, db.keys)
    try:
        tags = reopened.conn.execute("SELECT tag_type, name FROM tags ORDER BY id").fetchall()
        assert [tuple(t) for t in tags] == [("value", "VIP"), ("need", "VIP")]  # most used kept
        on = reopened.conn.execute(
            "SELECT ct.customer_id, t.tag_type, t.name FROM customer_tags ct"
            " JOIN tags t ON t.id = ct.tag_id ORDER BY ct.customer_id, t.tag_type"
        ).fetchall()
        assert [tuple(r) for r in on] == [
            (first, "value", "VIP"),
            (second, "need", "VIP"),
            (second, "value", "VIP"),
            (third, "value", "VIP"),
        ]
    finally:
        reopened.close()


@sync
async def test_the_tag_editor_points_to_the_existing_tag(session: Session) -> None:
    manager = session("manager")
    first, second = _two_customers(manager)
    manager.tags.add(first, "custom", "Key Account")
    app = DetailTestApp(manager, TagEditorScreen(manager, second))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await press(pilot, *"key account")
        message = str(app.screen.query_one("#tag-message", Static).render())
        assert "Existing tag" in message and "Key Account" in message
        await press(pilot, "enter")
        assert app.screen.query_one("#tag-name", Input).value == ""
        message = str(app.screen.query_one("#tag-message", Static).render())
        assert message.startswith("Added ") and "Key Account" in message
        assert app.screen.query_one("#current-tags", OptionList).option_count == 1
    assert [t.name for t in manager.customers.get(second).tags] == ["Key Account"]
    assert manager.db.conn.execute("SELECT COUNT(*) FROM tags").fetchone()[0] == 1
