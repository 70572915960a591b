"""The weekly summary read set-wise (issue 17: one grouped statement per figure for every
pipeline, domain.week_reads) against the summary as it was computed pipeline by pipeline
(kept below as the oracle, verbatim but for its imports): over random workspaces — several
pipelines, currencies with and without a rate, deals created, moved, closed, reopened and
snoozed inside and outside the week, round trips, lost reasons in several spellings — the
same summary and byte-identical messages in both locales, on both databases."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from domain import deals, money, weekly
from domain import metrics as m
from domain.inbound_touch import speed_to_lead
from domain.isolate import each_pipeline
from domain.metrics.calibration import calibration, flagged
from domain.money import Conversion, Tally
from domain.pipelines import StageSpec, create_pipeline
from domain.qualify import unqualified_past_qualification
from domain.refs import deal_pipelines, stages_of
from domain.stall import stalled_condition
from domain.weekly import FORECAST_MONTHS, MOVERS, ZERO, Mover, PipelineWeek, WeeklySummary
from scheduler import due
from storage.config_version import bump
from storage.models import Deal, Outcome, Pipeline, Role, Stage, StageHistory, Workspace
from tests import factories as f
from views import notifications as views

# ---------------------------------------------------------------- the oracle (as it was)


def old_compute(*, session, workspace, start, end, now) -> WeeklySummary:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(workspace.timezone)
    this_month = now.astimezone(zone).date().replace(day=1)
    tally = money.tally(session=session, workspace_id=workspace.id)
    new = weekly._created(session, workspace.id, start, end, tally)
    rates = m.grouped_rates(
        session=session,
        workspace_id=workspace.id,
        start=start,
        end=end,
        by="pipeline",
        tally=tally.only("won", "lost"),
    ).groups
    stages_of_: dict[int, list[m.StageStat]] = {}
    for stage in m.stage_stats(
        session=session, workspace_id=workspace.id, start=start, end=end, now=now
    ):
        stages_of_.setdefault(stage.pipeline_id, []).append(stage)

    def week(p) -> PipelineWeek:
        board = m.board(
            session=session, workspace_id=workspace.id, pipeline_id=p.id, now=now, tally=tally
        )
        rows = m.forecast(
            session=session,
            workspace_id=workspace.id,
            by="month",
            now=now,
            tz=workspace.timezone,
            pipeline_id=p.id,
            tally=Tally(tally.conversion),
        )
        forecast = tuple(
            (r.start_date, r.weighted)
            for r in rows
            if r.start_date is not None and r.start_date >= this_month
        )[:FORECAST_MONTHS]
        conv, slow = m.bottlenecks(stages_of_.get(p.id, []))
        r = rates.get(p.id, m.Rates())
        new_n, new_amount = new.get(p.id, (0, ZERO))
        return PipelineWeek(
            pipeline_id=p.id,
            name=p.name,
            board=board.stages,
            source=board,
            open_count=board.count,
            open_amount=board.amount,
            open_weighted=board.weighted,
            stalled_count=board.stalled,
            new_count=new_n,
            new_amount=new_amount,
            won_count=r.won_count,
            won_amount=r.won_amount,
            lost_count=r.lost_count,
            lost_amount=r.lost_amount,
            forecast=forecast,
            win_rate=r.win_rate,
            avg_deal_size=r.avg_deal_size,
            cycle_days=r.cycle_days,
            avg_open_age=r.open_age_days(now),
            velocity=r.velocity_per_day,
            bottleneck_conversion=(conv.name, conv.conversion) if conv else None,
            bottleneck_slow=(slow.name, slow.mean_days_in_stage) if slow else None,
            movers=tuple(_old_movers(session, workspace.id, p.id, start, end, tally.conversion)),
            unqualified_count=unqualified_past_qualification(session=session, pipeline=p),
            lost_reasons=tuple(
                m.lost_reasons(
                    session=session,
                    workspace_id=workspace.id,
                    start=start,
                    end=end,
                    pipeline_id=p.id,
                )
                if r.lost_count
                else ()
            ),
        )

    pipelines = deal_pipelines(session=session, workspace_id=workspace.id)
    weeks, failed = each_pipeline(session, pipelines, week)
    return WeeklySummary(
        calibration=tuple(
            flagged(calibration(session=session, workspace_id=workspace.id, now=now))
        ),
        start=start.astimezone(zone).date(),
        end=(end.astimezone(zone) - timedelta(days=1)).date(),
        currency=workspace.currency,
        pipelines=tuple(w for _, w in weeks),
        failed=tuple(failed),
        money=tally.note(),
        speed=speed_to_lead(session=session, workspace_id=workspace.id, start=start, end=end),
    )


def _old_movers(session, workspace_id, pipeline_id, start, end, conversion: Conversion):
    currencies = session.execute(
        sa.select(Deal.currency)
        .where(Deal.workspace_id == workspace_id, Deal.pipeline_id == pipeline_id)
        .distinct()
    ).scalars()
    found = [
        mover
        for currency in currencies
        for mover in _old_movers_in(session, workspace_id, pipeline_id, currency, start, end)
    ]

    def size(mover: Mover) -> tuple[bool, Decimal]:
        converted = conversion.to_base(mover.amount, mover.currency)
        return converted is None, -(converted if converted is not None else mover.amount)

    return sorted(found, key=size)[:MOVERS]


def _old_movers_in(session, workspace_id, pipeline_id, currency, start, end):
    h = StageHistory
    moved = (
        sa.exists()
        .where(h.deal_id == Deal.id, h.at >= start, h.at < end, h.from_stage_id.is_not(None))
        .correlate(Deal)
    )
    src, dst = aliased(Stage), aliased(Stage)
    limit = MOVERS * 4
    while True:
        candidates = session.execute(
            sa.select(Deal.id, Deal.number, Deal.title, Deal.amount)
            .where(
                Deal.workspace_id == workspace_id,
                Deal.pipeline_id == pipeline_id,
                Deal.currency == currency,
                moved,
            )
            .order_by(Deal.amount.desc(), Deal.id.desc())
            .limit(limit)
        ).all()
        if not candidates:
            return []
        ends: dict[int, list[str]] = {}
        for deal_id, from_name, to_name in session.execute(
            sa.select(h.deal_id, src.name, dst.name)
            .join(src, src.id == h.from_stage_id)
            .join(dst, dst.id == h.to_stage_id)
            .where(h.deal_id.in_([c[0] for c in candidates]), h.at >= start, h.at < end)
            .order_by(h.deal_id, h.at, h.id)
        ).all():
            ends.setdefault(deal_id, [from_name, to_name])[1] = to_name
        movers = [
            Mover(f"D{number} {title}", *ends[deal_id], amount, currency)
            for deal_id, number, title, amount in candidates
            if deal_id in ends and ends[deal_id][0] != ends[deal_id][1]
        ][:MOVERS]
        if len(movers) == MOVERS or len(candidates) < limit:
            return movers
        limit *= 4


# ---------------------------------------------------------------- random workspaces

MONDAY = datetime(2026, 11, 16, 0, 30, tzinfo=f.T0.tzinfo)  # 09:30 in Seoul: week 9–15 Nov
WEEK_START = datetime(2026, 11, 8, 15, 0, tzinfo=f.T0.tzinfo)  # Monday 9 Nov, Seoul midnight
KRW = [1_000_000, 5_000_000, 5_000_000, 12_345_678, 30_000_000, 0]  # ties on purpose
USD = ["3620.50", "12000.25", "990.10", "3620.50"]  # × 1381.37: never a KRW figure
EUR = ["5000", "700.70"]  # no rate: listed apart, after the priced ones
REASONS = ["Budget", " budget ", "BUDGET", "Timing", None, "competitor", "Competitor", "x"]


def build(session, seed: int, n_deals: int = 90) -> Workspace:
    rng = random.Random(seed)
    ws = f.workspace(session, digest_channel="CDIGEST", stall_business_days=rng.random() < 0.3)
    boss = f.member(session, ws, "UBOSS", Role.admin)
    reps = [boss] + [f.member(session, ws, f"UREP{i}") for i in range(3)]
    money.set_rates(
        session=session, workspace=ws, actor=boss, rates=[("USD", Decimal("1381.37"))], now=f.T0
    )
    create_pipeline(
        session=session,
        actor=boss,
        name="Partners",
        stages=[
            StageSpec("Intro", 10, 3, Outcome.open.value),
            StageSpec("Pilot", 40, None, Outcome.open.value),
            StageSpec("Signed", 100, None, Outcome.won.value),
            StageSpec("Dropped", 0, None, Outcome.lost.value),
        ],
    )
    create_pipeline(
        session=session,
        actor=boss,
        name="Quiet",  # open stages, no deal ever
        stages=[
            StageSpec("Open", 50, 5, Outcome.open.value),
            StageSpec("Won", 100, None, Outcome.won.value),
            StageSpec("Lost", 0, None, Outcome.lost.value),
        ],
    )
    pipelines = deal_pipelines(session=session, workspace_id=ws.id)
    stages = {p.id: stages_of(session=session, pipeline_id=p.id) for p in pipelines}
    week_end = WEEK_START + timedelta(days=7)
    made = []
    for k in range(n_deals):
        p = rng.choice([p for p in pipelines if p.name != "Quiet"])
        currency = rng.choice(["KRW"] * 4 + ["USD", "USD", "EUR"])
        amount = {"KRW": lambda: str(rng.choice(KRW)), "USD": lambda: rng.choice(USD)}.get(
            currency, lambda: rng.choice(EUR)
        )()
        created = WEEK_START - timedelta(days=40) + timedelta(minutes=rng.randrange(50 * 1440))
        created = min(created, MONDAY - timedelta(hours=1))
        close = None
        if rng.random() < 0.7:
            close = date(2026, rng.randrange(8, 13), rng.randrange(1, 28))
            if rng.random() < 0.3:
                close = date(2027, rng.randrange(1, 9), rng.randrange(1, 28))
        d = deals.create_deal(
            session=session,
            workspace=ws,
            actor=rng.choice(reps),
            title=f"Deal {k}",
            amount=Decimal(amount),
            currency=currency,
            pipeline_name=p.name,
            stage_text=rng.choice(stages[p.id]).name if rng.random() < 0.2 else None,
            close=close,
            now=created,
        ).deal
        made.append((d, p))
    for d, p in made:
        at = d.created_at
        for _ in range(rng.choice([0, 1, 1, 2, 3, 4])):
            at = at + timedelta(hours=rng.randrange(1, 24 * 6), seconds=rng.randrange(60))
            if at >= MONDAY:
                break
            if rng.random() < 0.5 and at < week_end:
                at = max(at, WEEK_START + timedelta(minutes=rng.randrange(7 * 1440)))
            targets = [s for s in stages[p.id] if s.id != d.stage_id]
            target = rng.choice(targets)
            reason = rng.choice(REASONS) if target.outcome == Outcome.lost.value else None
            deals.move_deal(
                session=session,
                actor=reps[0],
                deal=d,
                stage_id=target.id,
                now=at,
                lost_reason=reason,
            )
        if d.closed_at is None and rng.random() < 0.15:
            today = MONDAY.date()
            deals.snooze(
                session=session,
                actor=reps[0],
                deal=d,
                until=today + timedelta(days=rng.randrange(1, 20)),
                today=today - timedelta(days=1),
                now=MONDAY - timedelta(days=1),
            )
    session.flush()
    return ws


def rendered(summary: WeeklySummary) -> dict[str, str]:
    return {
        locale: json.dumps(
            [
                [msg.text, msg.blocks]
                for msg in views.weekly_summary(summary=summary, locale=locale)
            ],
            ensure_ascii=False,
            sort_keys=True,
        )
        for locale in ("en", "ko")
    }


def assert_same(new: WeeklySummary, old: WeeklySummary) -> None:
    """Equal field for field; the mean open age (a float) to the last bits of its sum, which
    is now added month by month (the messages show it rounded, and are compared whole)."""
    for p, o in zip(new.pipelines, old.pipelines, strict=True):
        if o.avg_open_age is None:
            assert p.avg_open_age is None
        else:
            assert p.avg_open_age == pytest.approx(o.avg_open_age, rel=1e-9)
    same = tuple(
        PipelineWeek(**{**vars(p), "avg_open_age": o.avg_open_age})
        for p, o in zip(new.pipelines, old.pipelines, strict=True)
    )
    assert WeeklySummary(**{**vars(new), "pipelines": same}) == old
    assert rendered(new) == rendered(old)


def summaries(session, ws: Workspace, at: datetime) -> tuple[WeeklySummary, WeeklySummary]:
    start, end = due.week_window(at, ws.timezone)
    with session.begin_nested():
        new = weekly.compute(session=session, workspace=ws, start=start, end=end, now=at)
    with session.begin_nested():
        old = old_compute(session=session, workspace=ws, start=start, end=end, now=at)
    return new, old


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_summary_read_set_wise_is_the_one_read_pipeline_by_pipeline(session, seed):
    ws = build(session, seed)
    checked = movers = reasons = stalled = 0
    for at in (MONDAY, MONDAY + timedelta(days=2, hours=5), MONDAY - timedelta(days=3)):
        new, old = summaries(session, ws, at)
        assert_same(new, old)
        assert not new.failed
        checked += len(new.pipelines)
        movers += sum(len(p.movers) for p in new.pipelines)
        reasons += sum(len(p.lost_reasons) for p in new.pipelines)
        stalled += sum(p.stalled_count for p in new.pipelines)
        for p in new.pipelines:  # the stalled counts are /deal list stalled's
            for s in p.board:
                cond = stalled_condition([(s.stage_id, s.stall_days)], workspace=ws, now=at)
                want = session.execute(
                    sa.select(sa.func.count())
                    .select_from(Deal)
                    .where(Deal.stage_id == s.stage_id, Deal.closed_at.is_(None), cond)
                ).scalar_one()
                assert s.stalled == want, (p.name, s.name)
    # The data reach what the summary shows: a test that cannot fail is a defect.
    assert checked == 12 and movers >= 6 and reasons >= 2 and stalled > 0
    assert new.money.left_out and new.money.converted  # EUR has no rate, USD has


def test_equal_amounts_and_round_trips_rank_movers_alike(session):
    """Ties in amount (then the newest deal first), deals that went there and back, a move
    into a closed stage and back out, more candidates than the first look."""
    ws = f.workspace(session)
    boss = f.member(session, ws, "UBOSS", Role.admin)
    inside = WEEK_START + timedelta(days=1)
    for i in range(20):
        d = f.deal(session, ws, boss, title=f"Round {i}", amount="900000000", now=f.T0)
        deals.move_deal(session=session, actor=boss, deal=d, stage_text="Meeting", now=inside)
        deals.move_deal(
            session=session, actor=boss, deal=d, stage_text="Contact", now=inside + timedelta(1)
        )
    for i in range(4):
        d = f.deal(session, ws, boss, title=f"Tie {i}", amount="5000000", now=f.T0)
        deals.move_deal(session=session, actor=boss, deal=d, stage_text="Meeting", now=inside)
    d = f.deal(session, ws, boss, title="Reopened", amount="7000000", now=f.T0)
    deals.close_deal(session=session, actor=boss, deal=d, won=False, now=inside)
    deals.move_deal(
        session=session, actor=boss, deal=d, stage_text="Proposal", now=inside + timedelta(1)
    )
    session.flush()
    new, old = summaries(session, ws, MONDAY)
    assert_same(new, old)
    assert [mv.deal for mv in new.pipelines[0].movers] == ["D25 Reopened", "D24 Tie 3", "D23 Tie 2"]


def test_a_pipeline_that_cannot_be_computed_fails_alone_and_notes_the_same_money(session):
    """A stall threshold nobody could mean (left over from an import) overflows the clock:
    that pipeline is named as failed, the others computed, the money note the same."""
    ws = build(session, 7, n_deals=40)
    partners = session.execute(sa.select(Pipeline).where(Pipeline.name == "Partners")).scalar_one()
    session.execute(
        sa.update(Stage)
        .where(Stage.pipeline_id == partners.id, Stage.outcome == "open")
        .values(stall_days=10**9)
    )
    bump(session, [ws.id])  # the kept stage copies are read afresh
    session.refresh(ws)
    new, old = summaries(session, ws, MONDAY)
    assert new.failed == old.failed == ("Partners",)
    assert_same(new, old)
