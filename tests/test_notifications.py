"""The scheduled posts as Slack sees them: within Block Kit limits, always with a text fallback."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from domain.deal_reads import DealRow, RenewalDue
from domain.metrics import Board, BoardStage
from domain.weekly import Mover, PipelineWeek, WeeklySummary
from scheduler import due
from tests.fakeslack.blockkit import validate_message
from views import notifications as views

NOW = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
LOCALES = ["en", "ko"]


def row(number: int, *, owner: str | None = "U1", days_in_stage=30, **kw) -> DealRow:
    return DealRow(
        id=number,
        number=number,
        title=kw.pop("title", f"Deal <{number}> & co"),
        amount=Decimal(kw.pop("amount", 7_590_000)),
        currency="KRW",
        pipeline_id=1,
        pipeline_name="New business",
        stage_id=1,
        stage_name="Contact",
        probability=50,
        stall_days=7,
        stage_entered_at=NOW - timedelta(days=days_in_stage),
        owner_slack_id=owner,
        **kw,
    )


def problems(messages) -> list[str]:
    out = []
    for message in messages:
        out += validate_message({"text": message.text, "blocks": message.blocks})
        assert message.text.strip()
    return out


@pytest.mark.parametrize("locale", LOCALES)
def test_a_stall_warning_says_stage_days_threshold_and_offers_move_and_snooze(locale):
    (item,) = due.stalled([row(7)], at=NOW, tz="Asia/Seoul")
    stages = [(1, "Contact"), (2, "Qualification"), (3, "Won")]
    message = views.stall_warning(
        deal=item.deal, status=item.status, stages=stages, locale=locale, currency="KRW"
    )
    assert problems([message]) == []
    assert "D7" in message.text and "Contact" in message.text
    actions = next(b for b in message.blocks if b["type"] == "actions")
    assert actions["block_id"] == "deal:D7"  # the deal's number (bot.payloads)
    move, snooze = actions["elements"]
    assert [o["value"] for o in move["options"]] == ["2", "3"]  # not the stage it is in
    assert [o["value"] for o in snooze["options"]] == ["D7:1", "D7:3", "D7:7", "D7:14"]
    body = " ".join(b["text"]["text"] for b in message.blocks if b["type"] == "section")
    assert "&lt;7&gt; &amp; co" in body  # a title cannot inject mrkdwn


@pytest.mark.parametrize("locale", LOCALES)
def test_a_small_digest_is_one_message_grouped_by_owner(locale):
    rows = [row(1, owner="UA"), row(2, owner="UB"), row(3, owner="UA")]
    items = due.stalled(rows, at=NOW, tz="Asia/Seoul")
    messages = views.stall_digest(
        items=items,
        groups=due.group_by_owner(items),
        day=date(2026, 12, 1),
        locale=locale,
        currency="KRW",
    )
    assert len(messages) == 1
    assert problems(messages) == []
    text = str(messages[0].blocks)
    assert text.index("<@UA>") < text.index("<@UB>")  # more stalled money first
    for n in (1, 2, 3):
        assert f"D{n} " in text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("title", ["Deal", "Enterprise platform renewal with extras " * 4])
def test_a_400_deal_digest_is_split_within_limits_and_names_every_deal(locale, title):
    rows = [
        row(n, owner=f"U{n % 37}", amount=1_000_000 + n, title=f"{title} {n}")
        for n in range(1, 401)
    ]
    items = due.stalled(rows, at=NOW, tz="Asia/Seoul")
    messages = views.stall_digest(
        items=items,
        groups=due.group_by_owner(items),
        day=date(2026, 12, 1),
        locale=locale,
        currency="KRW",
    )
    assert len(messages) > 1 or title == "Deal"  # long titles do not fit in one message
    assert problems(messages) == []
    assert all(len(m.blocks) <= 50 for m in messages)
    everything = " ".join(str(m.blocks) for m in messages)
    for n in range(1, 401):
        assert f"D{n} " in everything
    assert "400" in messages[0].text


@pytest.mark.parametrize("locale", LOCALES)
def test_the_all_clear_is_short_and_valid(locale):
    message = views.all_clear(day=date(2026, 12, 1), locale=locale)
    assert problems([message]) == []


@pytest.mark.parametrize("locale", LOCALES)
def test_a_renewal_alert_shows_the_mrr_and_the_days_left(locale):
    deal = row(5, renewal_date=date(2026, 12, 31), mrr=Decimal(1_200_000))
    item = RenewalDue(deal, offset=30, days_left=30)
    message = views.renewal_alert(item=item, locale=locale, currency="KRW")
    assert problems([message]) == []
    assert "D5" in message.text
    assert ("120만원" if locale == "ko" else "1,200,000") in message.text


def board(pid: int, stages: int = 5) -> Board:
    return Board(
        pid,
        f"Pipeline {pid}",
        NOW,
        tuple(
            BoardStage(
                stage_id=pid * 100 + s,
                name=f"Stage {s}",
                position=s,
                probability=s * 10,
                stall_days=7,
                count=s * 3,
                amount=Decimal(s * 1_000_000),
                weighted=Decimal(s * 100_000),
                stalled=s,
            )
            for s in range(1, stages + 1)
        ),
    )


def week(pid: int) -> PipelineWeek:
    b = board(pid)
    return PipelineWeek(
        pipeline_id=pid,
        name=b.pipeline_name,
        board=b.stages,
        source=b,
        open_count=b.count,
        open_amount=b.amount,
        open_weighted=b.weighted,
        stalled_count=b.stalled,
        new_count=3,
        new_amount=Decimal(3_000_000),
        won_count=2,
        won_amount=Decimal(5_000_000),
        lost_count=1,
        lost_amount=Decimal(1_000_000),
        forecast=((date(2026, 12, 1), Decimal(2_000_000)), (date(2027, 1, 1), Decimal(900_000))),
        win_rate=Decimal("0.6667"),
        avg_deal_size=Decimal(2_500_000),
        cycle_days=31.5,
        avg_open_age=12.0,
        velocity=Decimal(120_000),
        bottleneck_conversion=("Stage 2", Decimal("0.25")),
        bottleneck_slow=("Stage 3", 18.2),
        movers=(Mover("D9 Big one", "Stage 1", "Stage 3", Decimal(50_000_000)),),
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_a_12_pipeline_weekly_summary_is_split_within_limits(locale):
    summary = WeeklySummary(
        start=date(2026, 11, 23),
        end=date(2026, 11, 29),
        currency="KRW",
        pipelines=tuple(week(p) for p in range(1, 13)),
    )
    messages = views.weekly_summary(summary=summary, locale=locale)
    assert len(messages) > 1
    assert problems(messages) == []
    first = str(messages[0].blocks)
    for p in range(1, 13):
        assert f"Pipeline {p}" in first  # the channel message lists every pipeline
    everything = " ".join(str(m.blocks) for m in messages)
    assert "D9 Big one" in everything


def test_en_and_ko_scheduler_strings_have_the_same_keys_and_placeholders():
    import re

    root = Path(__file__).parent.parent / "i18n" / "locales"

    def flat(locale):
        data = tomllib.loads((root / locale / "scheduler.toml").read_text(encoding="utf-8"))
        return {
            f"{table}.{key}": set(re.findall(r"{(\w+)(?::[^{}]*)?}", value))
            for table, entries in data.items()
            for key, value in entries.items()
        }

    assert flat("en") == flat("ko")


@pytest.mark.parametrize("locale", LOCALES)
def test_a_huge_digest_counts_every_deal_but_lists_only_the_most_overdue(locale):
    rows = [row(n, owner=f"U{n % 300}", days_in_stage=10 + n % 50) for n in range(1, 2001)]
    items = due.stalled(rows, at=NOW, tz="Asia/Seoul")
    messages = views.stall_digest(
        items=items,
        groups=due.group_by_owner(items),
        day=date(2026, 12, 1),
        locale=locale,
        currency="KRW",
    )
    assert problems(messages) == []
    assert "2,000" in messages[0].text
    everything = " ".join(str(m.blocks) for m in messages)
    listed = sum(1 for n in range(1, 2001) if f"D{n} " in everything)
    assert listed == views.DIGEST_DEALS
    assert "/deal list stalled" in everything
    assert len(messages) <= 60  # bounded, whatever the size of the workspace
