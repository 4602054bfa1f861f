"""A customer's tags, grouped by tag type."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from .. import validation as v
from ..i18n import _
from ..i18n.formats import pad
from ..labels import label
from ..service import Tag


def tags_text(tags: tuple[Tag, ...]) -> Text:
    text = Text()
    if not tags:
        return Text(_("No tags yet (t to add)."), "dim")
    for tag_type in (t.value for t in v.TagType):
        names = [v.clean_text(t.name) for t in tags if t.tag_type == tag_type]
        if not names:
            continue
        if text:
            text.append("\n")
        text.append(pad(label("tag_type", tag_type), 9), "dim")
        text.append(", ".join(names))
    return text


class TagsPanel(Static):
    """Industry, need, value and custom tags, one line per type."""

    DEFAULT_CSS = """
    TagsPanel { height: auto; padding: 0 1; border: round $panel; }
    """

    def __init__(self, tags: tuple[Tag, ...], *, id: str | None = None) -> None:
        super().__init__(tags_text(tags), id=id)

    def on_mount(self) -> None:
        self.border_title = _("Tags")

    def show(self, tags: tuple[Tag, ...]) -> None:
        self.update(tags_text(tags))
