"""The stall digest summed in the database (scheduler.digest.read) and folded in Python
(domain.stall_digest.summarize) says exactly what the digest said when it was computed from
every stalled deal: the old computation is kept here as the oracle (``old_stall_digest``,
``old_messages``: the view and the planner as they were before issue 17 point 2).

Random workspaces: many owners (members, none, an owner of another workspace), amounts in
the workspace currency, in currencies with rates of several decimals and in one without,
ties in amount and in days over, snoozes, calendar and business-day clocks in several
timezones, thresholds of 0 days, more deals per owner than a digest lists; both locales,
every limit from one line to all of them; on both databases.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from domain import deal_reads, money, stall_digest, tasks
from domain.deal_reads import Stalled
from domain.isolate import each_pipeline
from domain.money import Conversion, Tally
from domain.refs import deal_pipelines
from domain.stall import stalled_since
from domain.workspaces import managers, member_locale
from i18n import fmt, t
from scheduler import digest, due, jobs
from storage.db import session_scope
from storage.models import Deal, Outcome, Role, Stage, Task
from tests import factories as f
from views import blocks as b
from views import notifications as views
from views.message import Message
from views.money import note_lines
from views.notifications import (
    BLOCK_BUDGET,
    DIGEST_DEALS,
    MESSAGE_CHARS,
    _chars,
    _chunk_lines,
    _digest_line,
    _overdue_tasks,
    _summary_sections,
    fits,
    mention,
    not_computed,
    paginate,
)

AT = f.T0 + timedelta(days=90, hours=3, minutes=17, seconds=5, microseconds=250)


def old_stall_digest(
    *,
    items: Sequence[Stalled],
    groups: Sequence[tuple[str | None, Sequence[Stalled]]],
    day: date,
    locale: str,
    currency: str,
    detail_limit: int | None = DIGEST_DEALS,
    failed: Sequence[str] = (),
    overdue_tasks: Mapping[str, int] | None = None,
    conversion: Conversion | None = None,
) -> list[Message]:
    """Stalled deals grouped by owner, with totals; several messages when large. ``failed``
    names the pipelines that could not be computed (domain.isolate): said up front.

    Totals and the per-owner lines cover every stalled deal; the deal-by-deal lines stop after
    ``detail_limit`` deals (the most overdue owners first) with a pointer to
    ``/deal list stalled``: a thread of hundreds of messages helps nobody, and each one costs
    a second of Slack's rate limit per recipient.
    """
    when = fmt.day(day, locale)
    # Totals are in the workspace currency, converted at its rates; an amount without a rate
    # is added to nothing and listed under the totals (domain.money).
    conversion = conversion or Conversion(currency.upper())
    tally = Tally(conversion)

    def money(value: Decimal) -> str:
        return fmt.money(value, conversion.base, locale, summary=True)

    # Each deal's amount and weighted amount in the base currency, converted once (the totals
    # and its owner's line add the same values, in the same order, as converting each time).
    based: dict[int, tuple[Decimal | None, Decimal | None]] = {}

    def base(i: Stalled) -> tuple[Decimal | None, Decimal | None]:
        key = id(i)
        if key not in based:
            deal = i.deal
            based[key] = (
                conversion.to_base(deal.amount, deal.currency),
                conversion.to_base(deal.weighted, deal.currency),
            )
        return based[key]

    def weighted(owned: Sequence[Stalled]) -> Decimal:
        values = (base(i)[1] for i in owned)
        return sum((v for v in values if v is not None), Decimal(0))

    def amount(owned: Sequence[Stalled]) -> Decimal:
        values = (base(i)[0] for i in owned)
        return sum((v for v in values if v is not None), Decimal(0))

    total = sum(
        (tally.amount(i.deal.amount, i.deal.currency, 1, "listed") for i in items), Decimal(0)
    )
    total_weighted = weighted(items)
    count = fmt.number(len(items), locale)
    text = t(
        locale,
        "scheduler.digest.text",
        count=count,
        date=when,
        amount=money(total),
        weighted=money(total_weighted),
    )
    head = [
        b.header(t(locale, "scheduler.digest.header", date=when)),
        b.section(
            t(
                locale,
                "scheduler.digest.totals",
                count=count,
                amount=money(total),
                weighted=money(total_weighted),
            )
        ),
        *not_computed(failed, locale),
    ]
    notes = note_lines(tally.note(), locale)
    if notes:
        head.append(b.context(*notes))
    owner_lines = []
    details: list[dict] = []
    room = len(items) if detail_limit is None else detail_limit
    for owner, owned in groups:
        owner_line = t(
            locale,
            "scheduler.digest.owner",
            owner=mention(owner, locale),
            count=fmt.number(len(owned), locale),
            amount=money(amount(owned)),
            weighted=money(weighted(owned)),
        )
        owner_line += _overdue_tasks(owner, overdue_tasks, locale)
        owner_lines.append(owner_line)
        if room <= 0:
            continue
        shown, room = owned[:room], room - len(owned)
        lines = [owner_line] + [_digest_line(i, locale, currency) for i in shown]
        if len(shown) < len(owned):
            more = fmt.number(len(owned) - len(shown), locale)
            lines.append(t(locale, "scheduler.digest.more", count=more))
        details.append(b.divider())
        details.extend(b.section(chunk) for chunk in _chunk_lines(lines))
    # Reps with overdue tasks and no stalled deal are counted too (issue 14).
    listed = {owner for owner, _ in groups}
    for owner in sorted(set(overdue_tasks or {}) - listed):
        line = f"*{mention(owner, locale)}*" + _overdue_tasks(owner, overdue_tasks, locale)
        owner_lines.append(line)
        details.append(b.section(line))
    if room < 0:
        unlisted = fmt.number(-room, locale)
        details.append(b.context(t(locale, "scheduler.digest.unlisted", count=unlisted)))
    if not fits(head + details):
        # The channel message carries the per-owner summary; the deals follow in the thread.
        head = (
            head
            + [b.divider()]
            + _summary_sections(
                owner_lines,
                room=BLOCK_BUDGET - len(head) - 2,
                locale=locale,
                chars=MESSAGE_CHARS - _chars(head),
            )
        )
        details = [blk for blk in details if blk["type"] != "divider"]
    return paginate(
        head,
        details,
        text=text,
        continued=lambda part, parts: t(
            locale, "scheduler.digest.continued", date=when, part=part, parts=parts
        ),
        details_note=t(locale, "scheduler.digest.details_in_thread"),
    )


def old_messages(session, ws, at, *, limit=DIGEST_DEALS) -> dict[str, list]:
    """The planner as it was: every stalled deal read pipeline by pipeline, judged, grouped,
    rendered; the messages per locale as ``(text, blocks)``."""
    pipelines = deal_pipelines(session=session, workspace_id=ws.id)
    done, failed = each_pipeline(
        session,
        pipelines,
        lambda p: deal_reads.stalled_deals(session=session, workspace=ws, now=at, pipeline_id=p.id),
    )
    items = due.stalled_on(ws, [row for _, rows in done for row in rows], at)
    conversion = money.conversion(session=session, workspace_id=ws.id)
    groups = due.group_by_owner(items, conversion)
    overdue = tasks.overdue_counts(session=session, workspace=ws, now=at)
    day = due.local_today(at, ws.timezone)
    return {
        locale: [
            (m.text, m.blocks)
            for m in old_stall_digest(
                items=items,
                groups=groups,
                day=day,
                locale=locale,
                currency=ws.currency,
                detail_limit=limit,
                failed=failed,
                overdue_tasks=overdue,
                conversion=conversion,
            )
        ]
        for locale in ("en", "ko")
    }


def new_messages(session, ws, at, *, limit=DIGEST_DEALS, summed=None) -> dict[str, list]:
    conversion = money.conversion(session=session, workspace_id=ws.id)
    if summed is None:
        summed = digest.read(
            session=session, workspace=ws, now=at, conversion=conversion, limit=limit
        )
        assert summed is not None  # summed in SQL, not folded from the rows
    overdue = tasks.overdue_counts(session=session, workspace=ws, now=at)
    day = due.local_today(at, ws.timezone)
    return {
        locale: [
            (m.text, m.blocks)
            for m in views.stall_digest_of(
                digest=summed,
                day=day,
                locale=locale,
                currency=ws.currency,
                overdue_tasks=overdue,
            )
        ]
        for locale in ("en", "ko")
    }


def summed_messages(session, ws, at, *, limit=DIGEST_DEALS) -> dict[str, list]:
    """The batch's way (scheduler.batches): every row read, folded in Python."""
    rows = deal_reads.stalled_deals_of(session=session, workspaces=[ws], now=at)[ws.id]
    items = due.stalled_on(ws, rows, at)
    conversion = money.conversion(session=session, workspace_id=ws.id)
    groups = due.group_by_owner(items, conversion)
    summed = stall_digest.summarize(items, groups, conversion, limit)
    return new_messages(session, ws, at, limit=limit, summed=summed)


ZONES = ("Asia/Seoul", "America/New_York", "UTC", "Pacific/Auckland")
CURRENCIES = ("KRW",) * 6 + ("USD", "usd", "EUR", "JPY", "GBP")  # GBP has no rate
RATES = {"USD": Decimal("1380"), "EUR": Decimal("1450.37"), "JPY": Decimal("9.2534")}


def populate(session, rng: random.Random, team: str):
    """A random workspace at ``AT``: see the module docstring."""
    ws = f.workspace(
        session,
        team,
        digest_channel=f"CG{team}",
        timezone=rng.choice(ZONES),
        stall_business_days=rng.random() < 0.5,
        holiday_country=rng.choice(("KR", "US")),
        locale=rng.choice(("en", "ko")),
    )
    admin = f.member(session, ws, f"UA{team}", Role.admin)
    manager = f.member(session, ws, f"UM{team}", Role.manager)
    manager.locale = "en" if ws.locale == "ko" else "ko"
    reps = [f.member(session, ws, f"UR{team}{i:02d}") for i in range(rng.randint(1, 12))]
    other = f.workspace(session, f"{team}X")
    stranger = f.member(session, other, f"UX{team}")  # an owner of another workspace
    owners = [r.id for r in reps] * 3 + [None, stranger.id, admin.id]
    if rng.random() < 0.8:
        money.set_rates(
            session=session, workspace=ws, actor=admin, rates=list(RATES.items()), now=f.T0
        )
    stages = list(
        session.execute(
            sa.select(Stage).where(Stage.workspace_id == ws.id, Stage.outcome == Outcome.open.value)
        ).scalars()
    )
    for stage in stages:
        stage.stall_days = rng.choice((0, 1, 2, 3, 7, 14, None))
        stage.probability = rng.choice((0, 10, 33, 50, 67, 90, 100))
        session.add(stage)
    session.flush()
    amounts = [Decimal("1234567.89"), Decimal("0"), Decimal("0.05"), Decimal("9999.99")]
    instants = [AT - timedelta(days=rng.randint(0, 40), seconds=rng.randint(0, 86399))]
    count = rng.choice((0, 5, 40, 150, 300))
    today = AT.date()
    for number in range(1, count + 1):
        stage = rng.choice(stages)
        if rng.random() < 0.3:  # ties: the same instant, the same amount
            entered = rng.choice(instants)
        else:
            entered = AT - timedelta(
                days=rng.randint(0, 45),
                seconds=rng.randint(0, 86399),
                microseconds=rng.randint(0, 999999),
            )
            instants.append(entered)
        if rng.random() < 0.3:
            amount = rng.choice(amounts)
        else:
            amount = Decimal(rng.randint(0, 10 ** rng.randint(2, 12))) / 100
            amounts.append(amount)
        snoozed = None
        if rng.random() < 0.2:
            snoozed = today + timedelta(days=rng.randint(-20, 5))
        session.add(
            Deal(
                workspace_id=ws.id,
                number=number,
                title=f"Deal <{number}> & co",
                amount=amount,
                currency=rng.choice(CURRENCIES),
                owner_id=rng.choice(owners),
                pipeline_id=stage.pipeline_id,
                stage_id=stage.id,
                stage_entered_at=entered,
                snoozed_until=snoozed,
                stalled_since=stalled_since(entered, stage.stall_days),
                created_at=entered,
                updated_at=entered,
            )
        )
    for n, rep in enumerate(reps[:3], start=1):  # overdue tasks, one rep without a stall
        session.add(Task(workspace_id=ws.id, number=n, owner_id=rep.id, text="Call", due_at=f.T0))
    session.flush()
    return ws


@pytest.mark.parametrize("seed", range(12))
def test_the_digest_summed_in_sql_says_what_the_old_digest_said(engine, seed):
    rng = random.Random(seed)
    with session_scope(engine) as s:
        ws = populate(s, rng, f"T{seed}")
        for limit in (DIGEST_DEALS, None, 1, 3, rng.randint(2, 60)):
            old = old_messages(s, ws, AT, limit=limit)
            assert new_messages(s, ws, AT, limit=limit) == old, limit
            assert summed_messages(s, ws, AT, limit=limit) == old, limit
            # The figures themselves, to the cent (a digest shows its sums rounded).
            assert figures(read_figures(s, ws, AT, limit)) == figures(folded(s, ws, AT, limit))


def read_figures(session, ws, at, limit):
    conversion = money.conversion(session=session, workspace_id=ws.id)
    return digest.read(session=session, workspace=ws, now=at, conversion=conversion, limit=limit)


def folded(session, ws, at, limit):
    rows = deal_reads.stalled_deals_of(session=session, workspaces=[ws], now=at)[ws.id]
    items = due.stalled_on(ws, rows, at)
    conversion = money.conversion(session=session, workspace_id=ws.id)
    groups = due.group_by_owner(items, conversion)
    return stall_digest.summarize(items, groups, conversion, limit)


def figures(summed) -> tuple:
    owners = [
        (o.owner, o.count, o.amount, o.weighted, [(i.deal.id, i.status) for i in o.shown])
        for o in summed.owners
    ]
    return (summed.count, summed.total, summed.total_weighted, summed.note, owners)


@pytest.mark.parametrize("seed", range(4))
def test_the_planner_posts_what_it_posted_to_the_channel_and_every_manager(engine, seed):
    rng = random.Random(100 + seed)
    with session_scope(engine) as s:
        ws = populate(s, rng, f"P{seed}")
        assert_planned_as_before(s, ws)


def assert_planned_as_before(s, ws) -> None:
    """The planner's threads: the old messages, to the channel and every manager."""
    old = old_messages(s, ws, AT)
    threads = jobs.plan_stall_digest(s, ws, AT, True)
    if not threads:  # nothing stalled, no all-clear asked for: nothing posted, as before
        rows = deal_reads.stalled_deals_of(session=s, workspaces=[ws], now=AT)[ws.id]
        assert not due.stalled_on(ws, rows, AT) and not ws.digest_all_clear
        return
    targets = {th.target: th for th in threads}
    assert set(targets) == {f"ch:{ws.digest_channel}"} | {
        f"dm:{m.slack_user_id}" for m in managers(session=s, workspace=ws)
    }
    for m in managers(session=s, workspace=ws):
        got = [(x.text, x.blocks) for x in targets[f"dm:{m.slack_user_id}"].messages]
        assert got == old[member_locale(m, ws)]
    got = [(x.text, x.blocks) for x in targets[f"ch:{ws.digest_channel}"].messages]
    assert got == old[ws.locale]


def test_a_long_digest_lists_the_most_overdue_of_its_first_owner_in_order(engine):
    """One owner with more stalled deals than a digest lists, ties on days over broken by
    amount then number: the lines are the old ones, in the old order, thread parts too."""
    with session_scope(engine) as s:
        ws = f.workspace(s, "TLONG", digest_channel="CGLONG", stall_business_days=True)
        rep = f.member(s, ws, "URLONG")
        stage = (
            s.execute(sa.select(Stage).where(Stage.workspace_id == ws.id, Stage.outcome == "open"))
            .scalars()
            .first()
        )
        for number in range(1, 700):
            entered = AT - timedelta(days=10 + number % 9, hours=number % 5)
            s.add(
                Deal(
                    workspace_id=ws.id,
                    number=number,
                    title=f"Long {number}",
                    amount=Decimal(1000 * (number % 7)),
                    owner_id=rep.id,
                    pipeline_id=stage.pipeline_id,
                    stage_id=stage.id,
                    stage_entered_at=entered,
                    stalled_since=stalled_since(entered, stage.stall_days),
                )
            )
        s.flush()
        old = old_messages(s, ws, AT)
        assert len(old["en"]) > 2  # a thread
        assert new_messages(s, ws, AT) == old


def test_amounts_past_sqlite_integers_are_folded_from_the_rows(engine):
    """Where a product could leave 64-bit integers, read says so and the planner reads the
    rows: the same digest either way."""
    with session_scope(engine) as s:
        ws = f.workspace(s, "TBIGM", digest_channel="CGBIGM")
        admin = f.member(s, ws, "UABIGM", Role.admin)
        money.set_rates(
            session=s,
            workspace=ws,
            actor=admin,
            rates=[("USD", Decimal("1380.123456789012345"))],
            now=f.T0,
        )
        stage = (
            s.execute(sa.select(Stage).where(Stage.workspace_id == ws.id, Stage.outcome == "open"))
            .scalars()
            .first()
        )
        entered = AT - timedelta(days=40)
        for number, currency in enumerate(("USD", "KRW"), start=1):
            s.add(
                Deal(
                    workspace_id=ws.id,
                    number=number,
                    title="Huge",
                    amount=Decimal("999999999999999.99"),
                    currency=currency,
                    owner_id=admin.id,
                    pipeline_id=stage.pipeline_id,
                    stage_id=stage.id,
                    stage_entered_at=entered,
                    stalled_since=stalled_since(entered, stage.stall_days),
                )
            )
        s.flush()
        conversion = money.conversion(session=s, workspace_id=ws.id)
        assert digest.read(session=s, workspace=ws, now=AT, conversion=conversion, limit=5) is None
        assert_planned_as_before(s, ws)
        assert summed_messages(s, ws, AT) == old_messages(s, ws, AT)


def test_the_sums_read_the_stalled_deals_from_their_index_alone(engine):
    """At 1M deals 145k deals are stalled: their sums read each of them from the index the
    stall range is on (``ix_deal_stalled`` holds stage, entry, snooze, owner, currency and
    amount), not one table read per deal (SQLite ~0.6 s)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    with session_scope(engine) as s:
        ws = populate(s, random.Random(3), "TPLAN")
        statements = []

        def keep(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

        sa.event.listen(engine, "before_cursor_execute", keep)
        try:
            read_figures(s, ws, AT, DIGEST_DEALS)
        finally:
            sa.event.remove(engine, "before_cursor_execute", keep)
        sums = [(q, p) for q, p in statements if "GROUP BY" in q]
        assert len(sums) > 1  # the sums and those converted per currency
        for query, parameters in sums:
            plan = [
                r[-1]
                for r in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + query, parameters)
            ]
            deal = [line for line in plan if line.startswith(("SEARCH deal", "SCAN deal"))]
            assert deal == [
                "SEARCH deal USING COVERING INDEX ix_deal_stalled"
                " (workspace_id=? AND closed_at=? AND stalled_since<?)"
            ], (plan, query)
