"""Deal card, deal details, deal lists and change notices."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from domain import names
from domain.deal_reads import DealCard, DealPage, DealRow
from domain.deals import Change
from domain.tasks import TaskPage
from i18n import fmt, t
from storage.models import Activity, Member, Outcome, Stage, Workspace
from views import blocks as b
from views import fields as fields_view
from views import qualify as qualify_views
from views import tasks as task_views
from views.closing import won_dialog
from views.ids import Action
from views.message import Message
from views.money import with_note


def who(member: Member | None) -> str:
    if member is None:
        return fmt.EMPTY
    return f"<@{member.slack_user_id}>"


def who_id(slack_id: str | None) -> str:
    """A member by Slack id (a row's owner); nobody is ``—``."""
    return fmt.EMPTY if slack_id is None else f"<@{slack_id}>"


def ref(deal) -> str:
    return f"D{deal.number}"


@lru_cache(maxsize=1024)
def _stage_label(name: str, probability: int, outcome: str, locale: str) -> str:
    """A stage as the card and its move menu write it: "Renewed (100%) · Won", but not
    "Won (100%) · Won" (the outcome only when it says more). Kept per the values it shows (a
    renamed stage or a new probability is another key): every card writes its stage's, and
    the outcome's aliases are found by normalising every alias of the name."""
    says_it = outcome == Outcome.open or outcome in names.aliases(name)
    closed = "" if says_it else t(locale, f"deal.outcome.{outcome}")
    return f"{name} ({probability}%)" + (f" · {closed}" if closed else "")


def stall_text(row: DealRow, locale: str, tz: str = "UTC") -> str:
    if row.outcome != Outcome.open:  # a closed deal is not waiting in its stage: say when
        closed = fmt.day(fmt.local_date(row.stage_entered_at, tz), locale)
        return t(locale, f"deal.closed_{row.outcome}", date=closed)
    if row.stall.threshold is None:
        return t(locale, "deal.in_stage", days=row.stall.days_in_stage)
    key = "deal.stalled" if row.stall.stalled else "deal.in_stage_of"
    return t(locale, key, days=row.stall.days_in_stage, threshold=row.stall.threshold)


def card(data: DealCard, workspace: Workspace, locale: str) -> Message:
    row = data.row
    cur = row.currency
    title = f"{ref(row)} · {row.title}"
    status = ""
    if row.outcome == Outcome.won:
        status = "✅ "
    elif row.outcome == Outcome.lost:
        status = "❌ "
    stage = _stage_label(row.stage_name, row.probability, row.outcome, locale)
    amount = fmt.money(row.amount, cur, locale)  # in a field and in the text fallback
    items = [
        t(locale, "deal.field.amount", value=amount),
        t(locale, "deal.field.stage", value=stage),
        t(locale, "deal.field.weighted", value=fmt.money(row.weighted, cur, locale)),
        t(locale, "deal.field.owner", value=who_id(row.owner_slack_id)),
        t(locale, "deal.field.close", value=fmt.day(row.expected_close, locale)),
        t(locale, "deal.field.company", value=row.company_name or fmt.EMPTY),
        t(locale, "deal.field.pipeline", value=row.pipeline_name),
    ]
    if row.renewal_date or row.mrr is not None:
        items.append(
            t(
                locale,
                "deal.field.renewal",
                date=fmt.day(row.renewal_date, locale),
                mrr=fmt.money(row.mrr, cur, locale),
            )
        )
    if data.qualification is not None:
        items.append(qualify_views.field(data.qualification, locale))
    items = fields_view.merge_items(items, fields_view.card_items(data.custom, locale))
    context = [stall_text(row, locale, workspace.timezone)]
    if row.lost_reason:
        context.append(t(locale, "deal.lost_reason", reason=row.lost_reason))
    blocks = [
        b.header(status + title),
        b.fields(items),
        b.context(*context),
        b.actions(card_actions(data, locale), block_id=f"deal:{ref(row)}"),
    ]
    text = t(
        locale,
        "deal.card_text",
        ref=ref(row),
        title=row.title,
        amount=amount,
        stage=row.stage_name,
    )
    return Message(text=text, blocks=blocks)


def stage_options(stages: list[Stage], locale: str) -> list[dict[str, Any]]:
    """The "move to" select's options: built from what each label shows (a renamed stage, a
    new probability or another locale is another key), kept for the next card of the same
    pipeline (issue 17: every card built them again). Fresh dicts each time: a message's
    blocks are its own."""
    key = tuple((s.id, s.name, s.probability, s.outcome) for s in stages)
    return [{**o, "text": {**o["text"]}} for o in _options(key, locale)]


@lru_cache(maxsize=1024)
def _options(
    stages: tuple[tuple[int, str, int, str], ...], locale: str
) -> tuple[dict[str, Any], ...]:
    """Only read: :func:`stage_options` hands out copies."""
    return tuple(
        b.option(_stage_label(name, probability, outcome, locale), str(sid))
        for sid, name, probability, outcome in stages
    )


def card_actions(data: DealCard, locale: str) -> list[dict[str, Any]]:
    deal_id = ref(data.row)  # buttons carry the deal's number (bot.payloads)
    options = stage_options(data.stages, locale)
    current = next((o for o in options if o["value"] == str(data.row.stage_id)), None)
    return [
        b.static_select(t(locale, "deal.action.move"), Action.deal_stage, options, current),
        {
            **b.button(t(locale, "deal.action.won"), Action.deal_won, deal_id, style="primary"),
            "confirm": won_dialog(locale),  # the click is the confirmation (issue 13)
        },
        b.button(t(locale, "deal.action.lost"), Action.deal_lost, deal_id, style="danger"),
        b.button(t(locale, "deal.action.note"), Action.deal_note, deal_id),
        b.button(t(locale, "task.button.add"), Action.task_add, deal_id),
        mute_menu(deal_id, locale),  # issue 16: for whoever clicks
    ] + ([qualify_views.button(data.row.number, locale)] if data.qualification is not None else [])


def mute_menu(deal_id: str, locale: str) -> dict[str, Any]:
    """The card's ⋯ menu: mute (or unmute) this deal's alerts for me."""
    return {
        "type": "overflow",
        "action_id": Action.alert_mute_deal,
        "options": [
            b.option(t(locale, "alert.card.mute"), f"mute:{deal_id}"),
            b.option(t(locale, "alert.card.unmute"), f"unmute:{deal_id}"),
        ],
    }


def change_text(change: Change, locale: str, members: dict[int, Member]) -> str:
    """One line saying who did what, for the thread and the ephemeral confirmation."""
    deal = change.deal
    params = dict(change.params)
    actor = who(change.actor)
    if change.kind == "updated":
        parts = []
        fields = params["fields"]
        currencies = fields.get("currency", (deal.currency, deal.currency))
        for field, (old, new) in fields.items():
            if field != "currency":  # shown in the amount: ₩27,250,000 → $12,000
                parts.append(_field_change(field, old, new, currencies, locale, members))
        return t(
            locale, "deal.change.updated", actor=actor, ref=ref(deal), changes="; ".join(parts)
        )
    if change.kind == "renewal":
        params = {
            "date": fmt.day(params.get("date"), locale),
            "mrr": fmt.money(params.get("mrr"), deal.currency, locale),
        }
    if change.kind == "snoozed":
        params = {"until": fmt.day(params["until"], locale)}
    if change.kind == "lost":
        reason = params.get("reason")
        params["reason"] = t(locale, "deal.lost_reason", reason=reason) if reason else ""
    if change.kind == "created":
        params["amount"] = fmt.money(deal.amount, deal.currency, locale)
        params["title"] = deal.title
    key = _closed_key(change.kind, params.get("to"))
    return t(locale, f"deal.change.{key}", actor=actor, ref=ref(deal), **params).strip()


def _closed_key(kind: str, stage: str | None) -> str:
    """``won``/``lost`` name the closing stage only when it says more than the outcome does:
    "won D201: Upgraded", but not "won D201 (Won)"."""
    if kind not in ("won", "lost") or not stage or kind in names.aliases(stage):
        return kind
    return f"{kind}_in"


def _field_change(field, old, new, currencies, locale, members) -> str:
    if field == "amount":
        old, new = fmt.money(old, currencies[0], locale), fmt.money(new, currencies[1], locale)
    elif field == "close":
        old, new = fmt.day(old, locale), fmt.day(new, locale)
    elif field == "owner":
        old, new = who(members.get(old)), who(members.get(new))
    elif field == "company":
        old = members.get(("company", old), fmt.EMPTY) if old else fmt.EMPTY
        new = members.get(("company", new), fmt.EMPTY) if new else fmt.EMPTY
    return t(locale, f"deal.field_change.{field}", old=old or fmt.EMPTY, new=new or fmt.EMPTY)


def _row_stall(row: DealRow, locale: str, tz: str) -> str:
    """A list row already starts with 🔴 when stalled: no second 🔴 and "Stalled:" after it."""
    if row.outcome == Outcome.open and row.stall.stalled and row.stall.threshold is not None:
        return t(
            locale, "deal.row_stalled", days=row.stall.days_in_stage, threshold=row.stall.threshold
        )
    return stall_text(row, locale, tz)


def row_line(row: DealRow, locale: str, tz: str = "UTC") -> str:
    stall = "🔴 " if row.stall.stalled else ""
    company = f" · {row.company_name}" if row.company_name is not None else ""
    return t(
        locale,
        "deal.row",
        stall=stall,
        ref=ref(row),
        title=row.title,
        company=company,
        amount=fmt.money(row.amount, row.currency, locale),
        stage=row.stage_name,
        owner=who_id(row.owner_slack_id),
        days=_row_stall(row, locale, tz),
    )


def deal_list(
    page: DealPage,
    title: str,
    workspace: Workspace,
    locale: str,
    empty: str | None = None,
    pager: str | None = None,
) -> Message:
    """At most 20 rows in one section each; the rest summarised (Block Kit: 50 blocks).

    ``empty`` is what to say when there are no rows (a search says what it searched for).
    With ``pager`` (the list's ``/deal list`` text), Previous/Next buttons re-run it a page
    back or on (value: JSON text and offset; the answer replaces the message)."""
    header = t(
        locale,
        "deal.list_header",
        title=title,
        count=fmt.number(page.total, locale),
        amount=fmt.money(page.total_amount, workspace.currency, locale, summary=True),
    )
    if not page.rows:
        text = empty or t(locale, "deal.list_empty", title=title)
        return Message(text=text, blocks=[b.section(text)])
    lines = [row_line(r, locale, workspace.timezone) for r in page.rows]
    blocks = [b.section(header)]
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > b.SECTION_TEXT - 10:
            blocks.append(b.section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(b.section("\n".join(chunk)))
    if pager is not None and page.total > len(page.rows):
        blocks.extend(_pages(page, pager, locale))
    elif page.total > len(page.rows):
        blocks.append(
            b.context(t(locale, "deal.list_more", shown=len(page.rows), total=page.total))
        )
    return with_note(Message(text=header, blocks=blocks), page.money, locale)


PAGE_SIZE = 20


def _pages(page: DealPage, pager: str, locale: str) -> list[dict[str, Any]]:
    first, last = page.offset + 1, page.offset + len(page.rows)
    shown = t(
        locale,
        "sales.page.range",
        first=fmt.number(first, locale),
        last=fmt.number(last, locale),
        total=fmt.number(page.total, locale),
    )
    buttons = []
    if page.offset > 0:
        back = max(0, page.offset - PAGE_SIZE)
        buttons.append(_page_button(t(locale, "sales.page.previous"), pager, back, "prev"))
    if last < page.total:
        buttons.append(_page_button(t(locale, "sales.page.next"), pager, last, "next"))
    return [b.context(shown), b.actions(buttons)] if buttons else [b.context(shown)]


def _page_button(label: str, pager: str, offset: int, which: str) -> dict[str, Any]:
    value = json.dumps({"text": pager, "offset": offset}, ensure_ascii=False)
    return b.button(label, f"{Action.deal_page}:{which}", value)


def activity_line(
    activity: Activity, locale: str, members: dict[int, Member], tz: str, currency: str
) -> str:
    when = fmt.moment(activity.at, tz, locale)
    author = who(members.get(activity.author_id)) if activity.author_id else "Salesbot"
    if activity.kind in ("note", "message"):
        body = activity.text
    else:
        body = activity_body(activity.kind, activity.text, locale, currency)
    return f"• {when} · {author}: {body}"


@lru_cache(maxsize=4096)
def activity_body(kind: str, text: str | None, locale: str, currency: str) -> str:
    """What a recorded change says ("moved from Meeting to Proposal"), kept per the values it
    is made of: a page shows four or five, each a JSON parse and a few catalog lookups, and
    most history rows say one of a few moves. The time and the author stay outside."""
    if kind == qualify_views.ACTIVITY:
        return qualify_views.activity_text(text, locale)
    try:
        params = json.loads(text or "{}")
    except ValueError:
        params = {}
    return t(
        locale,
        f"deal.activity.{_closed_key(kind, params.get('to'))}",
        **_activity_params(kind, params, currency, locale),
    ).strip()


MONEY_KEYS = {"amount": ("old", "new"), "renewal": ("mrr",)}
# Each history row carries its own currency (migration 0006 wrote it into older rows): it is
# drawn in that currency, whatever the deal's is now. ``currency`` is the fallback.
CURRENCY_KEYS = {"old": "old_currency", "new": "new_currency", "mrr": "currency"}
DATE_KEYS = {"close": ("old", "new"), "renewal": ("date",), "snoozed": ("until",)}


def _activity_params(kind: str, params: dict, currency: str, locale: str) -> dict[str, str]:
    out = {k: (fmt.EMPTY if v in (None, "") else str(v)) for k, v in params.items()}
    for key in MONEY_KEYS.get(kind, ()):
        if params.get(key) not in (None, ""):
            own = params.get(CURRENCY_KEYS[key]) or currency
            out[key] = fmt.money(Decimal(str(params[key])), str(own), locale)
    if kind == "lost" and params.get("reason"):
        out["reason"] = t(locale, "deal.lost_reason", reason=params["reason"])
    for key in DATE_KEYS.get(kind, ()):
        if params.get(key) not in (None, ""):
            out[key] = fmt.day(date.fromisoformat(str(params[key])[:10]), locale)
    out.setdefault("old", "")
    out.setdefault("new", "")
    out.setdefault("stage", "")
    out.setdefault("from", "")
    out.setdefault("to", "")
    out.setdefault("until", "")
    out.setdefault("date", "")
    out.setdefault("mrr", "")
    out.setdefault("reason", "")
    return out


def deal_details(
    data: DealCard,
    activities: list[Activity],
    members: dict[int, Member],
    workspace: Workspace,
    locale: str,
    permalink: str | None,
    tasks: TaskPage | None = None,
    now: datetime | None = None,
) -> Message:
    message = card(data, workspace, locale)
    blocks = message.blocks[:3]
    if tasks is not None and tasks.rows:
        tz = workspace.timezone
        lines = [task_views.line(row, locale, tz, now) for row in tasks.rows]
        head = t(locale, "task.on_deal", count=fmt.number(tasks.total, locale))
        blocks.append(b.section(head + "\n" + "\n".join(lines)))
    if activities:
        lines = [
            activity_line(a, locale, members, workspace.timezone, data.row.currency)
            for a in activities
        ]
        blocks.append(b.section(t(locale, "deal.timeline") + "\n" + "\n".join(lines)))
    else:
        blocks.append(b.context(t(locale, "deal.timeline_empty")))
    if permalink:
        blocks.append(b.context(t(locale, "deal.thread_link", url=permalink)))
    blocks.append(message.blocks[3])
    return Message(text=message.text, blocks=blocks)
