"""domain.money's conversion and tally, and rankings that compare value across currencies."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from commands.values import parse_rate
from domain.errors import InvalidInput
from domain.money import Conversion, MoneyNote, Tally
from i18n import fmt
from scheduler.due import group_by_owner
from views.money import note_lines

KRW = Conversion("KRW", {"USD": Decimal(1380)})


def test_the_base_currency_converts_at_one_and_a_currency_without_a_rate_not_at_all():
    assert KRW.to_base(Decimal(12_000), "USD") == Decimal("16560000.00")
    assert KRW.to_base(Decimal(5), "KRW") == Decimal("5.00")
    assert KRW.to_base(Decimal(5), "JPY") is None


def test_a_tally_adds_only_what_it_can_convert_and_remembers_the_rest_per_part():
    tally = Tally(KRW)
    assert tally.raw(1_000_000_00, "KRW", 1) == 1_000_000_00
    assert tally.raw(12_000_00, "USD", 1) == 16_560_000_00
    assert tally.raw(500_00, "EUR", 2) == 0
    assert tally.raw(300_00, "EUR", 1, "won") == 0
    assert tally.only("won").raw(999_00, "EUR", 5) == 0  # open, not remembered by this view
    assert tally.note() == MoneyNote(
        "KRW",
        converted=(("USD", Decimal(1380)),),
        left_out=(("open", "EUR", 2, Decimal("500.00")), ("won", "EUR", 1, Decimal("300.00"))),
    )


def test_a_note_says_nothing_when_every_amount_was_in_the_workspace_currency():
    tally = Tally(KRW)
    tally.raw(100, "KRW", 1)
    assert note_lines(tally.note(), "en") == []


@pytest.mark.parametrize(
    ("text", "rate"),
    [("USD=1380", ("USD", Decimal(1380))), ("jpy=9.25", ("JPY", Decimal("9.25"))),
     ("$=1,380", ("USD", Decimal(1380))), ("USD=none", ("USD", None))],
)  # fmt: skip
def test_rates_are_read_as_currency_equals_units_of_the_workspace_currency(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["USD", "USD=0", "USD=-5", "USD=1e3", "US=5", "=5", "USD=x"])
def test_a_bad_rate_is_refused(text):
    with pytest.raises(InvalidInput) as error:
        parse_rate(text)
    assert error.value.key == "money.bad_rate"


def stalled(owner: str, amount: str, currency: str):
    deal = SimpleNamespace(owner_slack_id=owner, amount=Decimal(amount), currency=currency)
    return SimpleNamespace(deal=deal)


def test_digest_owners_are_ordered_by_value_not_by_digits():
    items = [
        stalled("UKIM", "30000000", "KRW"),  # ₩30,000,000
        stalled("ULEE", "50000", "USD"),  # $50,000 = ₩69,000,000 at 1,380
    ]
    assert [owner for owner, _ in group_by_owner(items, KRW)] == ["ULEE", "UKIM"]
    # Without a rate the dollars are worth nothing to compare: won first.
    no_rate = Conversion("KRW")
    assert [owner for owner, _ in group_by_owner(items, no_rate)] == ["UKIM", "ULEE"]


def test_summaries_round_to_manwon_and_whole_dollars_cards_stay_exact():
    assert fmt.money(Decimal(3_795_000), "KRW", "ko") == "379만 5천원"  # a card
    assert fmt.money(Decimal(3_795_000), "KRW", "en") == "₩3,795,000"
    assert fmt.money(Decimal(360_515_972), "KRW", "ko", summary=True) == "3억 6,052만원"
    assert fmt.money(Decimal(27_985_972), "KRW", "ko", summary=True) == "2,799만원"
    assert fmt.money(Decimal("12000.50"), "USD", "en", summary=True) == "$12,001"
    assert fmt.money(Decimal("12000.50"), "USD", "en") == "$12,000.50"
    assert fmt.rate(Decimal("9.25"), "KRW", "ko") == "9.25원"
    assert fmt.rate(Decimal(1380), "KRW", "en") == "₩1,380"
