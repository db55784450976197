"""The catalogue: every key a page uses exists, Chinese is Chinese, English is complete."""

import json
import re
from pathlib import Path

from maps import i18n

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "maps" / "locales"
# Python: t(lang, "area.key" ...); scripts: T("area.key" ...) (the page's lookup function).
USES = re.compile(r"""\b(?:t\([^,()]+,\s*|T\()["']([a-z_]+\.[a-z0-9_]+)["']""")
# Latin words a Chinese string may hold: units, names of things, placeholders.
ALLOWED = {
    "km",
    "GENERATED",
    "Open311",
    "GPS",
    "PNG",
    "CSV",
    "English",
    "OpenStreetMap",
    "ODbL",
    "gisgrid",
}


def _used_keys() -> set[str]:
    found = set()
    for pattern in ("api/**/*.py", "maps/**/*.py", "maps/static/gisgrid/*.js", "maps/templates/*"):
        for path in ROOT.glob(pattern):
            found |= set(USES.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_key_used_is_in_the_chinese_catalogue() -> None:
    used = _used_keys()
    assert "login.title" in used  # the scan sees the pages' keys
    missing = sorted(used - set(i18n.catalogue("zh")))
    assert not missing, f"add to maps/locales/zh/: {missing}"


def test_english_has_every_chinese_key_and_no_more() -> None:
    zh, en = set(i18n.catalogue("zh")), set(i18n.catalogue("en"))
    assert zh - en == set(), f"translate into maps/locales/en/: {sorted(zh - en)}"
    assert en - zh == set(), f"not in the Chinese catalogue: {sorted(en - zh)}"


def test_each_file_keeps_to_its_area_and_placeholders_match() -> None:
    for lang_dir in LOCALES.iterdir():
        for path in lang_dir.glob("*.json"):
            for key in json.loads(path.read_text(encoding="utf-8")):
                assert key.startswith(path.stem + "."), f"{path}: {key} belongs elsewhere"
    zh, en = i18n.catalogue("zh"), i18n.catalogue("en")
    for key, text in zh.items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", en[key])), key


def test_chinese_strings_are_chinese() -> None:
    bad = {}
    for key, text in i18n.catalogue("zh").items():
        words = set(re.findall(r"[A-Za-z]{2,}", re.sub(r"{\w+}", "", text))) - ALLOWED
        if words:
            bad[key] = sorted(words)
    assert not bad, f"English words in Chinese strings: {bad}"


def test_language_choice() -> None:
    assert i18n.pick_lang(None) == "zh" and i18n.pick_lang("en-US") == "en"
    assert i18n.pick_lang("fr") == "zh" and i18n.pick_lang("zh_CN") == "zh"
    assert i18n.t("en", "home.households", n=3) == "3 households"
