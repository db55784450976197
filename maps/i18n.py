"""Words on pages, in one catalogue: Chinese first, English on request.

The catalogue is `maps/locales/<lang>/<area>.json` (areas: common, login, errors, home, center,
worker, resident, planner, progress, ...), each a flat object of `"area.key": "text"`. Python
pages call `t(lang, key, **params)`; scripts get the strings of their areas in the page config
(`strings(lang, areas)`) and look them up with the same keys. A key missing from a language
falls back to Chinese; a key missing from Chinese is a bug (a test holds every key used).
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
# <html lang> per catalogue, and the name each language has on the switch.
HTML_LANG = {"zh": "zh-CN", "en": "en"}
SWITCH_LABEL = {"zh": "中文", "en": "English"}


def pick_lang(asked: str | None) -> str:
    """A catalogue for the asked language ('en', 'zh-CN' ...), else Chinese."""
    if asked:
        base = asked.strip().lower().split("-")[0].split("_")[0]
        if base in LANGS:
            return base
    return DEFAULT_LANG


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every string of one language, all areas merged."""
    folder = files("maps").joinpath("locales", lang)
    merged: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            merged |= json.loads(entry.read_text(encoding="utf-8"))
    return merged


def t(lang: str, key: str, /, **params: Any) -> str:
    """The text of `key` in `lang` (Chinese if that language lacks it), with {params} filled."""
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANG)[key]  # KeyError: a key nobody wrote, caught by tests
    return text.format(**params) if params else text


def strings(lang: str, areas: tuple[str, ...]) -> dict[str, str]:
    """The strings of some areas for a page's script (Chinese where `lang` lacks one)."""
    prefixes = tuple(f"{a}." for a in areas)
    base = {k: v for k, v in catalogue(DEFAULT_LANG).items() if k.startswith(prefixes)}
    return base | {k: v for k, v in catalogue(lang).items() if k.startswith(prefixes)}
