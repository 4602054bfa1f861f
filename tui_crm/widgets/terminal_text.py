"""Customer text as every terminal draws it the same width: for fixed-width cells.

Rich measures an emoji sequence as one grapheme (`1️⃣`, `❤️`, `👍🏽`, `🏳️‍🌈`: two cells),
but terminals disagree: tmux and xterm-like ones ignore the variation selector and draw
`1️⃣` and `❤️` in one cell, a skin tone as an emoji of its own, each half of a flag in one
or two cells, a ZWJ family in two cells or six. Where the terminal draws fewer cells than
Rich counted, the rest of the line shifts left and leaves fragments; where it draws more,
the row runs past the right edge. So for display (what is stored is untouched) the
characters whose width depends on the terminal go: variation selectors, joiners, skin
tones, keycaps and other enclosing marks, and tag characters (an emoji then shows as its
plain base, each in its usual width),
and a flag's regional indicators become the letters they stand for (🇨🇳 → CN). Control
characters and bidi overrides become U+FFFD, so nothing the customer typed moves the
cursor or reorders the line. What is left is measured the same by Rich and by a terminal
that adds up character widths one by one.
"""

from __future__ import annotations

import re

from rich.text import Span, Text

REPLACEMENT = "\ufffd"
_UNPRINTABLE = ((0x00, 0x1F), (0x7F, 0x9F), (0x202A, 0x202E), (0x2066, 0x2069))
_DROPPED = (
    (0x200D, 0x200D),  # zero-width joiner
    (0x20DD, 0x20E0),  # enclosing marks: some terminals stop drawing the line at them
    (0x20E2, 0x20E4),  # ... and the keycap (1️⃣ shows as 1)
    (0xFE00, 0xFE0F),  # variation selectors (VS16 asks for the emoji form)
    (0x1F3FB, 0x1F3FF),  # skin tones
    (0xE0000, 0xE007F),  # tag characters (the flags of England, Scotland, Wales)
    (0xE0100, 0xE01EF),  # variation selectors supplement
)
_REGIONAL_A = 0x1F1E6
_REGIONAL = ((_REGIONAL_A, _REGIONAL_A + 25),)
_TABLE: dict[int, str | None] = {
    **{c: REPLACEMENT for start, end in _UNPRINTABLE for c in range(start, end + 1)},
    **{c: None for start, end in _DROPPED for c in range(start, end + 1)},
    **{_REGIONAL_A + n: chr(ord("A") + n) for n in range(26)},
}
_RISKY = re.compile(
    "["
    + "".join(
        f"{re.escape(chr(start))}-{re.escape(chr(end))}"
        for start, end in (*_UNPRINTABLE, *_DROPPED, *_REGIONAL)
    )
    + "]"
)


def terminal_safe(text: str) -> str:
    """`text` with nothing whose width or effect depends on the terminal (see above)."""
    return text.translate(_TABLE) if _RISKY.search(text) else text


def terminal_safe_text(text: Text) -> Text:
    """`terminal_safe` of a styled Text, its styles kept on the characters that remain."""
    plain = text.plain
    if not _RISKY.search(plain):
        return text
    starts = [0]  # where each character of `plain` starts in the safe text
    for character in plain:
        starts.append(starts[-1] + len(character.translate(_TABLE)))
    safe = text.blank_copy(plain.translate(_TABLE))
    safe.spans = [
        Span(starts[span.start], starts[min(span.end, len(plain))], span.style)
        for span in text.spans
        if starts[span.start] < starts[min(span.end, len(plain))]
    ]
    return safe
