"""Sending keys the way a paste or a laggy SSH link delivers them: all at once."""

from __future__ import annotations

import unicodedata

from textual import events
from textual._wait import wait_for_idle
from textual.app import App
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

from tests.workers import workers_done


def key_event(key: str) -> events.Key:
    """The Key event a terminal driver makes for `key` (a character or a key name), built
    as Pilot builds it."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        name = _get_unicode_name_from_key(REPLACED_KEYS.get(key, key))
        character: str | None = unicodedata.lookup(name)
    except KeyError:
        character = key if len(key) == 1 else None
    return events.Key(key, character)


async def burst(app: App[object], *keys: str) -> None:
    """Queue every key before the app handles the first (Pilot's `press` waits for the app
    between keys, which hides keys overtaking a focus change), then let the app settle."""
    driver = app._driver
    assert driver is not None
    for key in keys:
        event = key_event(key)
        event.set_sender(app)
        driver.send_message(event)
    while True:
        await wait_for_idle(0)
        await app._animator.wait_until_complete()
        await workers_done(app)
        if not getattr(app, "keys_pending", False):
            await wait_for_idle(0)
            return
