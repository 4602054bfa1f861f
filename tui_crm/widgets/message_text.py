"""A translated sentence drawn with its own words styled and the values it names plain.

Chinese puts the values of a sentence elsewhere than English does ("Added {tag}" is
"已添加 {tag}"), so a screen cannot style the words by gluing fragments in English order.
`message_text` fills a whole looked-up template instead: the template's words get the
style, each `{field}` is replaced by its value as given (customer text stays plain `Text`,
never markup).
"""

from __future__ import annotations

import re

from rich.text import Text

FIELD = re.compile(r"\{(\w+)\}")


def message_text(template: str, style: str = "", **values: str | Text) -> Text:
    """`message_text(_("Added {tag}"), "dim", tag=label)`: words in `style`, values as given."""
    text = Text()
    for index, part in enumerate(FIELD.split(template)):
        if index % 2 == 0:
            if part:
                text.append(part, style or None)
        else:
            value = values[part]
            text.append(value if isinstance(value, Text) else Text(value))
    return text
