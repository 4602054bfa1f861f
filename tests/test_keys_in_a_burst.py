"""Keys sent in one burst (a paste, a laggy SSH link) reach the field focused when their
turn comes, in order; forms open on the first field that needs input and show which field
has the cursor by more than colour."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Input

from tests.conftest import PASSWORD, customer_data
from tests.detail_app import DetailTestApp, sync
from tests.keys import burst
from tests.test_app_login import make_app, run
from tui_crm.db import Database
from tui_crm.screens.customer_detail import CustomerDetailScreen
from tui_crm.screens.customers import CustomersScreen
from tui_crm.screens.followup_form import FollowUpFormScreen
from tui_crm.service import Service

Session = Callable[[str], Service]
pytestmark = pytest.mark.usefixtures("colour_modes")


@run
async def test_login_typed_in_one_burst_signs_in(db: Database) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)):
        await burst(app, *"sales1", "tab", *PASSWORD, "enter")
        assert isinstance(app.screen, CustomersScreen)
        assert app.session.user.username == "sales1"
    failed = db.conn.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'login_failed'")
    assert failed.fetchone()[0] == 0


@run
async def test_keys_typed_ahead_of_the_login_screen_wait_for_it(db: Database) -> None:
    app = make_app(db)
    async with app.run_test(size=(80, 24)):
        await burst(app, *"sales1", "enter", *PASSWORD, "enter", "slash", *"zz")
        assert isinstance(app.screen, CustomersScreen)
        assert app.screen.query_one("#search", Input).value == "zz"


@sync
async def test_followup_form_opens_on_the_talk_and_marks_the_focused_field(
    session: Session,
) -> None:
    rep = session("sales1")
    customer = rep.customers.create(customer_data())
    app = DetailTestApp(rep, CustomerDetailScreen(rep, customer.id))
    async with app.run_test(size=(80, 24)) as pilot:
        await burst(app, "f", *"Asked for a quote", "tab")
        await pilot.pause()
        assert isinstance(app.screen, FollowUpFormScreen)
        form = app.screen
        assert form.query_one("#f-content").text == "Asked for a quote"  # type: ignore[attr-defined]
        assert form.focused is form.query_one("#f-result")
        labels = {
            label: label.styles.text_style.reverse for label in form.query(".form-field Label")
        }
        marked = [str(label.render()) for label, reverse in labels.items() if reverse]
        assert marked == ["Result"]
