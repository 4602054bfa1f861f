"""The customer form says what a text field will be saved as whenever the stored rule
(validation.clean_line) changes more than the spaces around what was typed."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input, Select, Static

from tests.conftest import customer_data
from tests.detail_app import DetailTestApp, press, sync
from tui_crm.screens.customer_form import CustomerFormScreen
from tui_crm.service import Service

Session = Callable[[str], Service]


def _hint(app: DetailTestApp, field: str) -> str | None:
    line = app.screen.query_one(f"#hint-{field}", Static)
    return None if line.has_class("-empty") else str(line.render())


@sync
async def test_the_form_shows_what_will_be_saved_before_saving(session: Session) -> None:
    manager = session("manager")
    form = CustomerFormScreen(manager, None)
    app = DetailTestApp(manager, form)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        name = form.query_one("#f-name", Input)
        name.focus()
        await press(pilot, *"Acme", "space", "space", *"Co")
        assert name.value == "Acme  Co"
        assert _hint(app, "name") == "Will be saved as: Acme Co"
        name.value = "Café ☕ (株) "
        await pilot.pause()
        assert _hint(app, "name") is None  # kept as typed; outer spaces need no word
        name.value = "Invoice \u202egnp.exe"
        await pilot.pause()
        assert _hint(app, "name") == "Will be saved as: Invoice gnp.exe"
        form.query_one("#f-city", Input).value = "\u200b\u202e"
        await pilot.pause()
        assert _hint(app, "city") == "Will be saved as: (nothing)"
        form.query_one("#f-city", Input).value = "Guang\tzhou"
        await pilot.pause()
        assert _hint(app, "city") == "Will be saved as: Guang zhou"
        form.query_one("#f-phone", Input).value = "13800138000"
        form.query_one("#f-customer_type", Select).value = "prospect"
        await press(pilot, "ctrl+s")
        assert not isinstance(app.screen, CustomerFormScreen)
    saved = manager.customers.find("13800138000")[0]
    assert (saved.name, saved.city) == ("Invoice gnp.exe", "Guang zhou")


@sync
async def test_an_edit_shows_no_hint_for_a_name_stored_as_typed(session: Session) -> None:
    manager = session("manager")
    customer = manager.customers.create(customer_data(name="Shop C++"))
    form = CustomerFormScreen(manager, customer)
    app = DetailTestApp(manager, form)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        assert form.query_one("#f-name", Input).value == "Shop C++"
        assert _hint(app, "name") is None
