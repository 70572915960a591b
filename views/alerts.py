"""Alerts (issue 16): a routed post, a digest of held alerts, the routes modal with each
route as a sentence, and the alert preferences on App Home."""

from __future__ import annotations

from typing import Any

from i18n import fmt, t
from views import blocks as b
from views.ids import Action, View
from views.message import Message
from views.modals import _modal, select_input, text_input
from views.notifications import _summary_sections

ICONS = {
    "won": ":trophy:",
    "lost": ":x:",
    "moved": ":arrow_right:",
    "created": ":sparkles:",
    "stalled": ":hourglass_flowing_sand:",
    "renewal": ":repeat:",
    "overdue": ":alarm_clock:",
}
EVENTS = ("won", "lost", "moved", "created", "stalled", "renewal", "overdue")
QUIET_CHOICES = ("off", "20:00-08:00", "21:00-07:00", "22:00-08:00", "19:00-09:00", "18:00-09:00")
MAX_MUTE_OPTIONS = 100  # a static select holds 100


def _label(deal) -> str:
    label = f"D{deal.number} {deal.title}"
    return f"<{deal.permalink}|{label}>" if deal.permalink else f"*{label}*"


def channel_alert(event, *, locale: str, currency: str) -> Message:
    """One routed post: ":trophy: Won: D12 Acme ERP · ₩200,000,000 · Proposal · <@U1>"."""
    deal = event.deal
    what = t(
        locale,
        f"alert.post.{event.kind}",
        stage=deal.stage_name,
        source=event.source or "",
        text=event.text or "",
    )
    amount = fmt.money(deal.amount, deal.currency or currency, locale)
    owner = f" · <@{deal.owner_slack_id}>" if deal.owner_slack_id else ""
    line = f"{ICONS[event.kind]} {what}: {_label(deal)} · {amount}{owner}"
    where = t(locale, "alert.post.where", pipeline=deal.pipeline_name, stage=deal.stage_name)
    text = f"{what}: D{deal.number} {deal.title} · {amount}"
    return Message(text=b.clip(text, 3000), blocks=[b.section(line), b.context(where)])


def digest(messages: list[dict[str, Any]], *, locale: str) -> Message:
    """Held alerts in one DM: one alert as it was; several as a list of their one-liners."""
    if len(messages) == 1:
        only = messages[0]
        return Message(text=only.get("text") or "", blocks=only.get("blocks") or [])
    count = fmt.number(len(messages), locale)
    title = t(locale, "alert.digest.title", count=count)
    lines = [f"• {m.get('text') or ''}" for m in messages]
    room = b.MESSAGE_BLOCKS - 2
    blocks = [b.section(f"*{title}*"), *_summary_sections(lines, room=room, locale=locale)]
    blocks.append(b.context(t(locale, "alert.digest.hint")))
    return Message(text=title, blocks=blocks)


# ---------------------------------------------------------------- routes


def sentence(row, locale: str) -> str:
    """ "Won deals of ₩100,000,000 or more in New business → #wins" """
    what = t(locale, f"alert.event.{row.event}")
    parts = []
    if row.pipeline:
        parts.append(t(locale, "alert.where.pipeline", pipeline=row.pipeline))
    if row.stage:
        parts.append(t(locale, "alert.where.stage", stage=row.stage))
    if row.min_amount is not None:
        amount = fmt.money(row.min_amount, row.currency or "KRW", locale)
        parts.append(t(locale, "alert.where.min", amount=amount))
    if row.owners:
        owners = ", ".join(f"<@{o}>" for o in row.owners)
        key = "alert.where.team" if len(row.owners) > 1 else "alert.where.owner"
        parts.append(t(locale, key, owners=owners))
    filters = t(locale, "alert.where.joined", items=t(locale, "alert.where.and").join(parts))
    return t(
        locale,
        "alert.sentence",
        what=what,
        filters=filters if parts else "",
        channel=f"<#{row.channel}>",
    )


def routes_modal(rows, locale: str) -> dict[str, Any]:
    """Every route as a sentence with its number, a field to add one (the command's own
    words) and one to remove some by number."""
    blocks: list[dict] = [b.context(t(locale, "alert.modal.intro"))]
    for row in rows:
        blocks.append(b.section(f"*{row.number}.* {sentence(row, locale)}"))
    if not rows:
        blocks.append(b.section(t(locale, "alert.modal.none")))
    blocks.append(b.divider())
    events = [b.option(t(locale, f"alert.event.{e}"), e) for e in EVENTS]
    blocks.append(select_input("event", t(locale, "alert.modal.add"), events, optional=True))
    blocks.append(
        {
            "type": "input",
            "block_id": "channel",
            "optional": True,
            "label": b.plain(t(locale, "alert.modal.channel")),
            "element": {"type": "conversations_select", "action_id": "value"},
        }
    )
    blocks.append(
        text_input(
            "filters",
            t(locale, "alert.modal.filters"),
            optional=True,
            placeholder="min:1억 pipeline:Renewals owner:@lee",
            max_length=500,
        )
    )
    blocks.append(b.context(t(locale, "alert.modal.add_help")))
    if rows:
        blocks.append(
            text_input(
                "remove",
                t(locale, "alert.modal.remove"),
                optional=True,
                placeholder="2",
                max_length=200,
            )
        )
    return _modal(
        View.alert_routes,
        t(locale, "alert.modal.title"),
        t(locale, "modal.save"),
        b.fit(blocks, b.VIEW_BLOCKS),
        locale,
    )


def route_added(row, locale: str) -> Message:
    text = t(locale, "alert.added", number=row.number, sentence=sentence(row, locale))
    return Message(text=text, blocks=[b.section(text)])


# ---------------------------------------------------------------- App Home


def _select(action: str, placeholder: str, options: list[dict], initial=None) -> dict:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": action,
        "placeholder": b.plain(placeholder, b.OPTION_TEXT),
        "options": options[: b.SELECT_OPTIONS],
    }
    if initial is not None:
        element["initial_option"] = initial
    return element


def _multi(action: str, placeholder: str, options: list[dict], chosen: list[dict]) -> dict:
    element: dict[str, Any] = {
        "type": "multi_static_select",
        "action_id": action,
        "placeholder": b.plain(placeholder, b.OPTION_TEXT),
        "options": options[:MAX_MUTE_OPTIONS],
    }
    if chosen:
        element["initial_options"] = chosen
    return element


def home_blocks(page, locale: str) -> list[dict[str, Any]]:
    """``page``: :class:`domain.alert_home.AlertHome` — the member's choices and what they
    can mute. Each control saves when it changes."""
    batch_options = [b.option(t(locale, f"alert.home.batch.{k}"), k) for k in BATCH_KEYS]
    batch = next((o for o in batch_options if o["value"] == page.batch), batch_options[0])
    quiet_options = [
        b.option(t(locale, "alert.home.quiet_off") if q == "off" else q.replace("-", "–"), q)
        for q in QUIET_CHOICES
    ]
    current = page.quiet or "off"
    if current not in QUIET_CHOICES:
        quiet_options.append(b.option(current.replace("-", "–"), current))
    quiet = next(o for o in quiet_options if o["value"] == current)
    pipelines = [b.option(b.clip(name, b.OPTION_TEXT), f"p{pid}") for pid, name in page.pipelines]
    deals = [
        b.option(b.clip(f"D{number} {title}", b.OPTION_TEXT), f"d{did}")
        for did, number, title in page.deals
    ]
    batch_label = t(locale, "alert.home.batch.label")
    quiet_label = t(locale, "alert.home.quiet")
    blocks = [
        b.section(f"*{t(locale, 'alert.home.heading')}*"),
        b.context(t(locale, "alert.home.intro", tz=page.timezone)),
        # Sections with a select each (no actions block): every control says what it is.
        b.section(
            batch_label, accessory=_select(Action.alert_batch, batch_label, batch_options, batch)
        ),
        b.section(
            quiet_label, accessory=_select(Action.alert_quiet, quiet_label, quiet_options, quiet)
        ),
    ]
    for action, label, options in (
        (Action.alert_mute_pipelines, t(locale, "alert.home.mute_pipelines"), pipelines),
        (Action.alert_mute_deals, t(locale, "alert.home.mute_deals"), deals),
    ):
        if options:
            chosen = [o for o in options if o["value"] in page.muted]
            blocks.append(b.section(label, accessory=_multi(action, label, options, chosen)))
    return blocks


BATCH_KEYS = ("off", "hourly", "daily")
