"""The app speaks the signed-in user's language, and a user switches it from the palette:
remembered per user, audited, and shown at once on the visible screen and the next ones."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import OptionList

from tests.test_app_login import make_app, run, sign_in
from tests.workers import workers_done
from tui_crm import i18n
from tui_crm.db import Database
from tui_crm.screens.choice import ChoiceScreen
from tui_crm.screens.customers import CustomersScreen
from tui_crm.screens.due import DueScreen
from tui_crm.service import Service

from .conftest import PASSWORD


def _stored_language(db: Database, username: str) -> str | None:
    row = db.conn.execute("SELECT language FROM users WHERE username=?", (username,)).fetchone()
    return row["language"]


@run
async def test_sign_in_activates_the_users_remembered_language(
    db: Database, session: Callable[[str], Service]
) -> None:
    session("sales1").users.set_language("zh_CN")
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert i18n.active_language() == "en"  # the login screen speaks config/locale
        await sign_in(pilot, "sales1", PASSWORD)
        assert isinstance(app.screen, CustomersScreen)
        assert i18n.active_language() == "zh_CN"
        assert app.sub_title == "sales1 (销售)"
        app.show_due()
        await workers_done(app)
        await pilot.pause()
        assert str(app.screen.query_one("#due-title").render()).startswith("我的待跟进")
        footer = {b.binding.key: b.binding.description for b in app.screen.active_bindings.values()}
        assert footer["escape"] == "返回"


@run
async def test_palette_switches_language_remembers_it_and_redraws_the_list(
    db: Database, session: Callable[[str], Service]
) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "sales1", PASSWORD)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Language: 简体中文 / English" in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Language")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        options = app.screen.query_one(OptionList)
        shown = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert shown[1:] == ["简体中文", "English"]
        await pilot.press("down", "enter")  # 简体中文
        await workers_done(app)
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
        assert i18n.active_language() == "zh_CN"
        assert _stored_language(db, "sales1") == "zh_CN"
        assert app.sub_title == "sales1 (销售)"
        assert app.screen.query_one("CustomerTable").has_focus  # the list came back, usable
        assert "语言 Language：简体中文 / English" in [
            c.title for c in app.get_system_commands(app.screen)
        ]
        app.show_due()
        await workers_done(app)
        await pilot.pause()
        assert isinstance(app.screen, DueScreen)
        assert "我的待跟进" in str(app.screen.query_one("#due-title").render())
        await pilot.press("escape")
        await pilot.pause()
        app.choose_language()
        await pilot.pause()
        await pilot.press("enter")  # automatic: forget the choice, config and locale decide
        await pilot.pause()
        assert _stored_language(db, "sales1") is None
        assert i18n.active_language() == "en"
    audited = db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action='user.language'")
    assert audited.fetchone()[0] == 2


@run
async def test_other_screens_do_not_offer_the_switch(
    db: Database, session: Callable[[str], Service]
) -> None:
    """Only the customer list offers it: elsewhere a redraw could lose what was typed."""
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, "sales1", PASSWORD)
        app.show_due()
        await workers_done(app)
        await pilot.pause()
        assert isinstance(app.screen, DueScreen)
        titles = [str(c.title) for c in app.get_system_commands(app.screen)]
        assert titles  # the due list's own commands
        assert not any("简体中文" in title for title in titles)
