"""The formatters kept or written by hand for speed (i18n.fmt) say exactly what Babel says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from babel.dates import format_date

from i18n import fmt


@pytest.mark.parametrize("locale", ["en", "ko"])
@pytest.mark.parametrize("tz", ["Asia/Seoul", "America/New_York", "UTC"])
def test_the_fast_moment_is_babels_pattern(locale, tz):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for step in range(0, 24 * 400, 7):  # every month, hour, both halves of the day, DST
        value = start + timedelta(minutes=37 * step, seconds=step % 60)
        assert fmt.moment(value, tz, locale) == fmt.moment_by_babel(value, tz, locale)


@pytest.mark.parametrize("locale", ["en", "ko", "ko-KR", None])
def test_a_kept_day_is_babels_and_none_is_empty(locale):
    style = "long" if fmt.normalize_locale(locale) == "ko" else "medium"
    for offset in range(0, 800, 13):
        value = date(2026, 1, 1) + timedelta(days=offset)
        expected = format_date(value, style, locale=fmt.normalize_locale(locale))
        assert fmt.day(value, locale) == fmt.day(value, locale) == expected
    assert fmt.day(None, locale) == fmt.EMPTY
