"""Block Kit views of the scheduled posts (docs/scheduled-posts.md).

Every builder returns :class:`views.message.Message` values with a non-empty ``text``
fallback, within Slack's limits (SLACK.md): at most 50 blocks per message and 3,000
characters per section, and at most ``MESSAGE_CHARS`` (12,000) readable characters per message
by our own rule. Big digests and summaries come back as several messages: the first one
(header, totals, one line per owner or pipeline) goes to the channel, the rest follow as
replies in its thread (the drain resolves that thread when it sends them). A digest lists at
most ``DIGEST_DEALS`` deals line by line; its totals and owner lines count every deal.

Amounts and dates go through :mod:`i18n.fmt`, words through the ``scheduler`` catalog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

from domain.money import Conversion
from domain.stall_digest import StallDigest, summarize
from i18n import fmt, t
from views import blocks as b
from views.coach import calibration_blocks
from views.ids import Action
from views.inbound import speed_line
from views.losses import lost_reasons_with
from views.message import Message
from views.money import note_lines

if TYPE_CHECKING:
    from domain.deal_reads import DealRow, RenewalDue, Stalled
    from domain.stall import StallStatus
    from domain.weekly import PipelineWeek, WeeklySummary

SNOOZE_DAYS = (1, 3, 7, 14)
DIGEST_DEALS = 500  # deal lines listed in a digest; the rest are counted
BLOCK_BUDGET = b.MESSAGE_BLOCKS  # 50
# Slack takes 50 × 3,000 characters, but nobody reads 100 KB in a channel: past this a post
# becomes a short message with totals and its details follow in the thread.
MESSAGE_CHARS = 12_000
SECTION_BUDGET = b.SECTION_TEXT - 100  # headroom under 3,000 for the clip marker


# ---------------------------------------------------------------- small pieces


@cache  # a digest formats thousands of small day counts; Babel is slow per call
def days(n: int, locale: str, *, business: bool = False) -> str:
    kind = "business_day" if business else "day"
    return t(
        locale, f"scheduler.unit.{kind}_{'one' if n == 1 else 'other'}", n=fmt.number(n, locale)
    )


def deal_label(deal: DealRow) -> str:
    return f"D{deal.number} {deal.title}"


def mention(slack_id: str | None, locale: str) -> str:
    return f"<@{slack_id}>" if slack_id else t(locale, "scheduler.digest.no_owner")


def _chunk_lines(lines: Sequence[str], limit: int = SECTION_BUDGET) -> list[str]:
    """Join lines into texts of at most ``limit`` characters (a long line is clipped)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = b.clip(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def _chars(blocks: Sequence[dict]) -> int:
    """Readable characters of some blocks (what a reader has to scroll through)."""
    total = 0
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            total += len(text.get("text", ""))
        for element in block.get("elements", ()) if block["type"] == "context" else ():
            total += len(element.get("text", ""))
    return total


def fits(blocks: Sequence[dict]) -> bool:
    """One message: at most 50 blocks and about a screenful or two of text."""
    return len(blocks) <= BLOCK_BUDGET and _chars(blocks) <= MESSAGE_CHARS


def paginate(
    head: list[dict],
    details: list[dict],
    *,
    text: str,
    continued: callable,
    details_note: str,
) -> list[Message]:
    """One message if it fits; else the head, then the details in messages that fit
    (≤ 50 blocks, ≤ ``MESSAGE_CHARS`` characters each).

    ``continued(part, parts)`` gives the header text of the follow-up messages.
    """
    if fits(head + details):
        return [Message(text=text, blocks=head + details)]
    first = b.fit(head, BLOCK_BUDGET - 1) + [b.context(details_note)]
    pages: list[list[dict]] = []
    page: list[dict] = []
    for block in details:
        # one block of each page is kept for the "part n of m" context
        if page and (len(page) + 2 > BLOCK_BUDGET or _chars(page + [block]) > MESSAGE_CHARS):
            pages.append(page)
            page = []
        page.append(block)
    if page:
        pages.append(page)
    parts = len(pages) + 1
    messages = [Message(text=text, blocks=first)]
    for number, page in enumerate(pages, start=2):
        label = continued(number, parts)
        messages.append(Message(text=label, blocks=[b.context(label), *page]))
    return messages


# ---------------------------------------------------------------- stall warning


def stall_warning(
    *,
    deal: DealRow,
    status: StallStatus,
    stages: Sequence[tuple[int, str]],
    locale: str,
    currency: str,
) -> Message:
    """One stalled deal: stage, days in stage vs threshold, move and snooze selects.

    The actions block's ``block_id`` is ``deal:D<number>`` so the stage select (option value =
    stage id, as :class:`views.ids.Action` documents) can tell which deal it moves.
    """
    business = status.business_days
    in_stage = days(status.days_in_stage, locale, business=business)
    threshold = days(status.threshold or 0, locale, business=business)
    over = days(status.days_over, locale, business=business)
    amount = fmt.money(deal.amount, deal.currency or currency, locale)
    weighted = fmt.money(deal.weighted, deal.currency or currency, locale)
    label = deal_label(deal)
    text = t(
        locale,
        "scheduler.stall.text",
        deal=label,
        stage=deal.stage_name,
        days=in_stage,
        threshold=threshold,
    )
    body = t(
        locale,
        "scheduler.stall.body",
        stage=deal.stage_name,
        days=in_stage,
        threshold=threshold,
        over=over,
        amount=amount,
        weighted=weighted,
        owner=mention(deal.owner_slack_id, locale),
    )
    move_options = [
        b.option(name, str(stage_id)) for stage_id, name in stages if stage_id != deal.stage_id
    ]
    snooze_options = [
        b.option(
            t(locale, "scheduler.stall.snooze_option", days=days(n, locale)), f"D{deal.number}:{n}"
        )
        for n in SNOOZE_DAYS
    ]
    elements = []
    if move_options:
        elements.append(
            b.static_select(
                t(locale, "scheduler.stall.move_placeholder"), Action.deal_stage, move_options
            )
        )
    elements.append(
        b.static_select(
            t(locale, "scheduler.stall.snooze_placeholder"), Action.deal_snooze, snooze_options
        )
    )
    blocks = [
        b.section(t(locale, "scheduler.stall.title", deal=_escape(label))),
        b.section(body),
        b.actions(elements, block_id=f"deal:D{deal.number}"),
        b.context(t(locale, "scheduler.stall.hint")),
    ]
    return Message(text=text, blocks=blocks)


def _escape(text: str) -> str:
    """mrkdwn control characters in user-written titles."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- stall digest


def not_computed(pipelines: Sequence[str], locale: str) -> list[dict]:
    """A report that is missing pipelines says which, first thing."""
    if not pipelines:
        return []
    names = ", ".join(_escape(name) for name in pipelines)
    return [b.context(t(locale, "scheduler.report.not_computed", pipelines=names))]


def stall_digest(
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
    """Stalled deals grouped by owner (``groups``, in that order), with totals: the
    :func:`stall_digest_of` their figures (:func:`domain.stall_digest.summarize`)."""
    conversion = conversion or Conversion(currency.upper())
    digest = summarize(items, groups, conversion, detail_limit)
    return stall_digest_of(
        digest=digest,
        day=day,
        locale=locale,
        currency=currency,
        failed=failed,
        overdue_tasks=overdue_tasks,
    )


def stall_digest_of(
    *,
    digest: StallDigest,
    day: date,
    locale: str,
    currency: str,
    failed: Sequence[str] = (),
    overdue_tasks: Mapping[str, int] | None = None,
) -> list[Message]:
    """The stall digest (:class:`domain.stall_digest.StallDigest`): stalled deals grouped by
    owner, with totals; several messages when large. ``failed`` names the pipelines that
    could not be computed (domain.isolate): said up front.

    Totals and the per-owner lines cover every stalled deal; the deal-by-deal lines stop after
    ``digest.limit`` deals (the most overdue owners first) with a pointer to
    ``/deal list stalled``: a thread of hundreds of messages helps nobody, and each one costs
    a second of Slack's rate limit per recipient.
    """
    when = fmt.day(day, locale)
    # Totals are in the workspace currency, converted at its rates; an amount without a rate
    # is added to nothing and listed under the totals (domain.money).
    base = digest.note.base

    def money(value: Decimal) -> str:
        return fmt.money(value, base, locale, summary=True)

    count = fmt.number(digest.count, locale)
    text = t(
        locale,
        "scheduler.digest.text",
        count=count,
        date=when,
        amount=money(digest.total),
        weighted=money(digest.total_weighted),
    )
    head = [
        b.header(t(locale, "scheduler.digest.header", date=when)),
        b.section(
            t(
                locale,
                "scheduler.digest.totals",
                count=count,
                amount=money(digest.total),
                weighted=money(digest.total_weighted),
            )
        ),
        *not_computed(failed, locale),
    ]
    notes = note_lines(digest.note, locale)
    if notes:
        head.append(b.context(*notes))
    owner_lines = []
    details: list[dict] = []
    room = digest.count if digest.limit is None else digest.limit
    for group in digest.owners:
        owner = group.owner
        owner_line = t(
            locale,
            "scheduler.digest.owner",
            owner=mention(owner, locale),
            count=fmt.number(group.count, locale),
            amount=money(group.amount),
            weighted=money(group.weighted),
        )
        owner_line += _overdue_tasks(owner, overdue_tasks, locale)
        owner_lines.append(owner_line)
        if room <= 0:
            continue
        shown, room = group.shown, room - group.count
        lines = [owner_line] + [_digest_line(i, locale, currency) for i in shown]
        if len(shown) < group.count:
            more = fmt.number(group.count - len(shown), locale)
            lines.append(t(locale, "scheduler.digest.more", count=more))
        details.append(b.divider())
        details.extend(b.section(chunk) for chunk in _chunk_lines(lines))
    # Reps with overdue tasks and no stalled deal are counted too (issue 14).
    listed = {group.owner for group in digest.owners}
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


def _overdue_tasks(owner: str | None, counts: Mapping[str, int] | None, locale: str) -> str:
    """`` · 3 overdue tasks`` after a rep's digest line (nothing when there are none)."""
    count = (counts or {}).get(owner or "", 0)
    if not count:
        return ""
    return " · " + t(locale, "task.digest.overdue", count=fmt.number(count, locale))


def _summary_sections(
    lines: Sequence[str], *, room: int, locale: str, chars: int = MESSAGE_CHARS
) -> list[dict]:
    """Lines packed into at most ``room`` sections and about ``chars`` characters; when some
    do not fit, the last block says how many were left out."""
    chunks = _chunk_lines(lines)
    if len(chunks) <= room and sum(len(c) for c in chunks) <= chars:
        return [b.section(chunk) for chunk in chunks]
    kept: list[str] = []
    used = 0
    for chunk in chunks[: room - 1]:
        if used + len(chunk) > chars - 100:
            break
        kept.append(chunk)
        used += len(chunk)
    shown = sum(chunk.count("\n") + 1 for chunk in kept)
    more = t(locale, "scheduler.digest.more", count=fmt.number(len(lines) - shown, locale))
    return [b.section(chunk) for chunk in kept] + [b.context(more)]


def _digest_line(item: Stalled, locale: str, currency: str) -> str:
    deal, status = item.deal, item.status
    return t(
        locale,
        "scheduler.digest.line",
        deal=_escape(deal_label(deal)),
        stage=_escape(deal.stage_name),
        days=days(status.days_in_stage, locale, business=status.business_days),
        over=days(status.days_over, locale, business=status.business_days),
        amount=fmt.money(deal.amount, deal.currency or currency, locale),
        weighted=fmt.money(deal.weighted, deal.currency or currency, locale),
    )


def all_clear(*, day: date, locale: str) -> Message:
    when = fmt.day(day, locale)
    return Message(
        text=t(locale, "scheduler.digest.all_clear_text", date=when),
        blocks=[b.section(t(locale, "scheduler.digest.all_clear", date=when))],
    )


# ---------------------------------------------------------------- renewal alert


def renewal_alert(*, item: RenewalDue, locale: str, currency: str) -> Message:
    deal = item.deal
    left = days(item.days_left, locale)
    when = (
        t(locale, "scheduler.renewal.when_today")
        if item.days_left == 0
        else t(locale, "scheduler.renewal.when_days", days=left)
    )
    renews = fmt.day(deal.renewal_date, locale)
    mrr = fmt.money(deal.mrr, deal.currency or currency, locale)
    label = deal_label(deal)
    return Message(
        text=t(locale, "scheduler.renewal.text", when=when, deal=label, date=renews, mrr=mrr),
        blocks=[
            b.section(t(locale, "scheduler.renewal.title", when=when, deal=_escape(label))),
            b.section(
                t(
                    locale,
                    "scheduler.renewal.body",
                    date=renews,
                    days=left,
                    mrr=mrr,
                    stage=_escape(deal.stage_name),
                    owner=mention(deal.owner_slack_id, locale),
                )
            ),
        ],
    )


# ---------------------------------------------------------------- weekly summary


def weekly_summary(*, summary: WeeklySummary, locale: str) -> list[Message]:
    """Per pipeline: board, new/won/lost, forecast, §2 metrics, bottleneck, movers, stalled."""
    cur = summary.currency

    def money(value: Decimal | None) -> str:
        return fmt.money(value, cur, locale, summary=True)

    start, end = fmt.day(summary.start, locale), fmt.day(summary.end, locale)
    pipes = summary.pipelines
    head = [
        b.header(t(locale, "scheduler.weekly.header", start=start, end=end)),
        *not_computed(summary.failed, locale),
    ]
    notes = note_lines(summary.money, locale)
    lines = [
        t(
            locale,
            "scheduler.weekly.pipeline_line",
            pipeline=_escape(p.name),
            open=fmt.number(p.open_count, locale),
            amount=money(p.open_amount),
            weighted=money(p.open_weighted),
            won=fmt.number(p.won_count, locale),
            lost=fmt.number(p.lost_count, locale),
            stalled=fmt.number(p.stalled_count, locale),
        )
        for p in pipes
    ]
    head.extend(b.section(chunk) for chunk in _chunk_lines(lines))
    head.extend(calibration_blocks(summary.calibration, locale))
    speed = speed_line(summary.speed, locale)
    if speed:
        head.append(b.section(speed))
    if notes:
        head.append(b.context(*notes))
    text = t(
        locale,
        "scheduler.weekly.text",
        start=start,
        end=end,
        open=fmt.number(sum(p.open_count for p in pipes), locale),
        amount=money(sum((p.open_amount for p in pipes), Decimal(0))),
        weighted=money(sum((p.open_weighted for p in pipes), Decimal(0))),
        won=fmt.number(sum(p.won_count for p in pipes), locale),
        lost=fmt.number(sum(p.lost_count for p in pipes), locale),
    )
    details: list[dict] = []
    for p in pipes:
        details.append(b.divider())
        details.extend(_pipeline_blocks(p, locale, money))
    return paginate(
        head,
        details,
        text=text,
        continued=lambda part, parts: t(
            locale, "scheduler.weekly.continued", part=part, parts=parts
        ),
        details_note=t(locale, "scheduler.weekly.details_in_thread"),
    )


def _pipeline_blocks(p: PipelineWeek, locale: str, money) -> list[dict]:
    board = [
        t(
            locale,
            "scheduler.weekly.board_line",
            stage=s.name.replace("`", "'"),
            count=fmt.number(s.count, locale),
            amount=money(s.amount),
            weighted=money(s.weighted),
        )
        for s in p.board
    ] or [t(locale, "scheduler.weekly.board_empty")]
    flows = [
        t(
            locale,
            "scheduler.weekly.new",
            count=fmt.number(p.new_count, locale),
            amount=money(p.new_amount),
        ),
        t(
            locale,
            "scheduler.weekly.won",
            count=fmt.number(p.won_count, locale),
            amount=money(p.won_amount),
        ),
        t(
            locale,
            "scheduler.weekly.lost",
            count=fmt.number(p.lost_count, locale),
            amount=money(p.lost_amount),
        ),
        t(locale, "scheduler.weekly.stalled", count=fmt.number(p.stalled_count, locale)),
    ]
    if p.unqualified_count is not None:  # issue 15: BANT not met past Qualification
        flows.append(t(locale, "qualify.weekly", count=fmt.number(p.unqualified_count, locale)))
    forecast = [t(locale, "scheduler.weekly.forecast", amount=money(p.open_weighted))] + [
        t(locale, "scheduler.weekly.forecast_month", month=_month(m, locale), amount=money(v))
        for m, v in p.forecast[:6]
    ]
    metrics = t(
        locale,
        "scheduler.weekly.metrics",
        win_rate=fmt.percent(p.win_rate, locale),
        avg_size=money(p.avg_deal_size),
        cycle=_days_or_dash(p.cycle_days, locale),
        age=_days_or_dash(p.avg_open_age, locale),
        velocity=money(p.velocity),
    )
    if p.bottleneck_conversion or p.bottleneck_slow:
        conv_stage, conv = p.bottleneck_conversion or ("—", None)
        slow_stage, slow = p.bottleneck_slow or ("—", None)
        bottleneck = t(
            locale,
            "scheduler.weekly.bottleneck",
            conversion_stage=_escape(conv_stage),
            conversion=fmt.percent(conv, locale),
            slow_stage=_escape(slow_stage),
            slow_days=_days_or_dash(slow, locale),
        )
    else:
        bottleneck = t(locale, "scheduler.weekly.bottleneck_none")
    if p.movers:
        movers = t(
            locale,
            "scheduler.weekly.movers",
            movers=", ".join(
                t(
                    locale,
                    "scheduler.weekly.mover",
                    deal=_escape(m.deal),
                    from_stage=_escape(m.from_stage),
                    to_stage=_escape(m.to_stage),
                    amount=fmt.money(m.amount, m.currency, locale),  # one deal: exact
                )
                for m in p.movers
            ),
        )
    else:
        movers = t(locale, "scheduler.weekly.movers_none")
    out = [b.section(t(locale, "scheduler.weekly.pipeline", pipeline=_escape(p.name)))]
    out.extend(b.section(chunk) for chunk in _chunk_lines(board))
    out.append(b.section("\n".join(flows)))
    why = lost_reasons_with(p.lost_reasons, money=money, locale=locale)
    if why:  # issue 13
        out.append(b.section(why))
    out.extend(b.section(chunk) for chunk in _chunk_lines(forecast))
    out.append(b.section(metrics))
    out.append(b.section(bottleneck))
    out.append(b.section(movers))
    return out


def _days_or_dash(value: float | None, locale: str) -> str:
    return fmt.EMPTY if value is None else days(round(value), locale)


def _month(month: date | datetime, locale: str) -> str:
    from babel.dates import format_date

    from i18n import normalize_locale

    pattern = "y년 M월" if normalize_locale(locale) == "ko" else "MMM y"
    return format_date(
        month, pattern, locale="ko_KR" if normalize_locale(locale) == "ko" else "en_US"
    )
