"""Binding descriptions in the active language (the recipe phase 2 applies to every
screen): English messages in BINDINGS, translated wherever Textual or our help reads them."""

from __future__ import annotations

import io
from typing import ClassVar

from rich.console import Console
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tui_crm import i18n
from tui_crm.i18n import N_
from tui_crm.widgets.translated_bindings import TranslatedBindings

from .test_app_login import run


class ListScreen(TranslatedBindings, Screen[None]):
    # Messages the catalogs already hold, standing in for the screens' own.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "json", N_("Print JSON."), id="toy.json"),
        Binding("v", "verify", N_("Verify every backup."), tooltip=N_("Role."), id="toy.verify"),
    ]

    def compose(self) -> ComposeResult:
        yield Footer()

    def action_json(self) -> None:
        self.app.exit()

    def action_verify(self) -> None:
        self.app.exit()


class ToyApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(ListScreen())


def _footer(app: App[None]) -> dict[str, str]:
    return {key.key: key.description for key in app.screen.query(FooterKey)}


@run
async def test_footer_speaks_the_active_language_and_follows_a_switch() -> None:
    i18n.activate("zh_CN")
    app = ToyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert _footer(app) == {"j": "以 JSON 输出。", "v": "校验全部备份。", "ctrl+p": "命令面板"}
        assert app.screen.active_bindings["v"].binding.tooltip == "角色。"
        i18n.activate("en")
        app.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert _footer(app) == {
            "j": "Print JSON.",
            "v": "Verify every backup.",
            "ctrl+p": "palette",
        }


@run
async def test_keys_panel_and_bindings_keep_working_in_chinese() -> None:
    """Textual's key panel parses descriptions as markup; translated ones render too, and
    the keys still run their actions."""
    i18n.activate("zh_CN")
    app = ToyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_show_help_panel()
        await pilot.pause()
        console = Console(width=60, record=True, file=io.StringIO())
        console.print(app.screen.query_one("BindingsTable").render())
        assert "校验全部备份。" in console.export_text()
        await pilot.press("v")
    assert app.return_code == 0


def test_class_level_bindings_stay_english() -> None:
    """The class's BINDINGS are never rewritten; only what a screen hands out is translated."""
    i18n.activate("zh_CN")
    descriptions = [b.description for b in ListScreen._merged_bindings.key_to_bindings["j"]]
    assert descriptions == ["Print JSON."]
