"""A translated sentence keeps its own words styled and its values as given, wherever the
language puts them; customer text in a value stays plain text, never markup."""

from __future__ import annotations

from rich.text import Text

from tui_crm.widgets.message_text import message_text


def _styled(text: Text) -> list[tuple[str, str]]:
    return [(text.plain[span.start : span.end], str(span.style)) for span in text.spans]


def test_words_take_the_style_and_values_stay_as_given() -> None:
    tag = Text.assemble(("自定义 ", "dim"), "[bold]VIP[/bold]")
    shown = message_text("已有标签 {tag} — 按 Enter 添加", "italic", tag=tag)
    assert shown.plain == "已有标签 自定义 [bold]VIP[/bold] — 按 Enter 添加"
    assert ("已有标签 ", "italic") in _styled(shown)
    assert ("自定义 ", "dim") in _styled(shown)
    assert (" — 按 Enter 添加", "italic") in _styled(shown)
    assert not any("VIP" in part for part, _style in _styled(shown))


def test_a_value_may_come_first_or_twice_and_words_may_be_unstyled() -> None:
    shown = message_text("{fields}相同，负责人 {owner}", fields="电话和邮箱", owner="sales1")
    assert shown.plain == "电话和邮箱相同，负责人 sales1"
    assert shown.spans == []
    assert message_text("{a}-{a}", a="x").plain == "x-x"
