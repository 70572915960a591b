"""Both languages are first-class: same keys, same placeholders, one formatter."""

from __future__ import annotations

import re
import string
from datetime import date
from decimal import Decimal

import pytest

from i18n import catalog, fmt, normalize_locale, t

FIELDS = string.Formatter()


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in FIELDS.parse(template) if name}


def test_english_and_korean_catalogs_have_the_same_keys_and_placeholders():
    en, ko = catalog("en"), catalog("ko")
    assert sorted(set(en) ^ set(ko)) == []
    different = [k for k in en if placeholders(en[k]) != placeholders(ko[k])]
    assert different == []


def test_korean_strings_are_korean():
    ko = catalog("ko")
    hangul = re.compile(r"[가-힣]")
    # Templates made only of placeholders and symbols read the same in both languages.
    words = {k: re.sub(r"\{[^}]*\}", "", v) for k, v in ko.items()}
    same_ok = {k for k, v in words.items() if not re.search(r"[A-Za-z]{3,}", v)}
    english_only = [k for k, v in ko.items() if k not in same_ok and not hangul.search(v)]
    allowed = [k for k in english_only if k.startswith(("grammar.usage.", "reports.chart"))]
    assert sorted(set(english_only) - set(allowed)) == [], "untranslated ko strings"


def test_a_missing_key_fails_loudly_instead_of_reaching_a_user():
    with pytest.raises(KeyError):
        t("en", "deal.no_such_key")


@pytest.mark.parametrize(
    ("locale", "expected"), [("ko-KR", "ko"), ("ko_KR", "ko"), ("en-US", "en"), ("fr", "en")]
)
def test_slack_locales_map_to_our_two_languages(locale, expected):
    assert normalize_locale(locale) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("3795000", "KRW", "ko", "379만 5천원"),
        ("7590000", "KRW", "ko", "759만원"),
        ("120000000", "KRW", "ko", "1억 2천만원"),
        ("3795000", "KRW", "en", "₩3,795,000"),
        ("12000", "USD", "en", "$12,000"),
        ("12000.50", "USD", "en", "$12,000.50"),
    ],
)
def test_one_money_formatter(amount, currency, locale, expected):
    assert fmt.money(Decimal(amount), currency, locale) == expected


def test_dates_in_each_language():
    assert fmt.day(date(2026, 12, 31), "ko") == "2026년 12월 31일"
    assert fmt.day(date(2026, 12, 31), "en") == "Dec 31, 2026"
