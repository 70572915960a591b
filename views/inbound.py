"""Inbound leads in Slack: the leads-channel message with Claim / Assign / Disqualify, and
``/pipeline inbound``'s answer (the URLs, the secret once, Rotate)."""

from __future__ import annotations

from domain.inbound import API_BUCKET, FORM_BUCKET
from domain.inbound_touch import InboundView, SpeedToLead
from i18n import fmt, t
from views import blocks as b
from views.ids import Action
from views.message import Message
from views.reports import esc

DETAIL_LINES = 8  # other fields the sender gave, shown under the lead


def lead_message(view: InboundView, *, locale: str, tz: str) -> Message:
    """The lead as the channel sees it; the same function renders every update."""
    lead = view.lead
    ref = f"L{lead.number}"
    head = t(locale, "inbound.message.header", name=lead.name)
    facts = [f"*{ref}* · *{esc(lead.name)}*"]
    who = " · ".join(esc(v) for v in (view.details.get("title"), view.company) if v)
    if who:
        facts.append(who)
    reach = " · ".join(esc(v) for v in (lead.email, view.details.get("phone")) if v)
    if reach:
        facts.append(reach)
    if lead.source:
        facts.append(t(locale, "inbound.message.source", source=esc(lead.source)))
    if lead.company_size is not None:
        facts.append(t(locale, "inbound.message.size", size=fmt.number(lead.company_size, locale)))
    blocks = [b.header(head), b.section("\n".join(facts))]
    notes = view.details.get("notes")
    if notes:
        blocks.append(b.section("> " + esc(notes).replace("\n", "\n> ")))
    other = [
        f"*{esc(k)}:* {esc(v)}"
        for k, v in view.details.items()
        if k not in ("title", "phone", "notes")
    ][:DETAIL_LINES]
    if other:
        blocks.append(b.section("\n".join(other)))
    if view.duplicates:
        blocks.append(b.section(_duplicates(view.duplicates, locale)))
    via = t(locale, f"inbound.message.via_{view.inbound.via}")
    arrived = fmt.moment(view.inbound.received_at, tz, locale)
    blocks.append(b.context(t(locale, "inbound.message.arrived", via=via, at=arrived)))
    state = _state(view, locale)
    blocks.append(b.section(state))
    if not view.closed:
        blocks.append(_buttons(view, locale))
    text = t(locale, "inbound.message.text", ref=ref, name=esc(lead.name), state=state)
    return Message(text=text, blocks=blocks)


def _duplicates(found: dict[str, list[str]], locale: str) -> str:
    parts = []
    if found.get("email"):
        parts.append(t(locale, "inbound.message.same_email", refs=", ".join(found["email"])))
    if found.get("company"):
        parts.append(t(locale, "inbound.message.same_company", refs=", ".join(found["company"])))
    return t(locale, "inbound.message.duplicate", what=" · ".join(parts))


def _state(view: InboundView, locale: str) -> str:
    if view.inbound.disqualified_at is not None:
        return t(locale, "inbound.message.disqualified")
    if view.lead.deal_id is not None:
        return t(locale, "inbound.message.converted")
    if view.owner_slack_id is None:
        return t(locale, "inbound.message.unclaimed")
    how = view.inbound.assigned_by or "person"
    return t(locale, f"inbound.message.owner_{how}", user=f"<@{view.owner_slack_id}>")


def _buttons(view: InboundView, locale: str) -> dict:
    value = str(view.lead.id)
    elements = []
    if view.owner_slack_id is None:
        claim = t(locale, "inbound.action.claim")
        elements.append(b.button(claim, Action.inbound_claim, value, style="primary"))
    elements.append(
        {
            "type": "users_select",
            "action_id": Action.inbound_assign,
            "placeholder": b.plain(t(locale, "inbound.action.assign"), 150),
        }
    )
    disqualify = t(locale, "inbound.action.disqualify")
    elements.append(b.button(disqualify, Action.inbound_disqualify, value, style="danger"))
    return b.actions(elements, block_id=f"inbound:{view.lead.id}")


def speed_line(speed: SpeedToLead | None, locale: str) -> str | None:
    """``/pipeline metrics`` and the weekly summary: median time to first touch, with count;
    nothing when no inbound lead arrived in the period."""
    if speed is None or not speed.arrived:
        return None
    arrived, touched = fmt.number(speed.arrived, locale), fmt.number(speed.touched, locale)
    if speed.median_minutes is None:
        return t(locale, "inbound.speed_none", arrived=arrived)
    return t(
        locale,
        "inbound.speed",
        median=duration(speed.median_minutes, locale),
        touched=touched,
        arrived=arrived,
    )


def duration(minutes: float, locale: str) -> str:
    if minutes < 120:
        return t(locale, "inbound.minutes", value=fmt.number(minutes, locale, 0))
    return t(locale, "inbound.hours", value=fmt.number(minutes / 60, locale, 1))


def done(key: str, view: InboundView, locale: str, **params) -> Message:
    """The clicker's ephemeral answer."""
    return Message(text=t(locale, key, ref=f"L{view.lead.number}", **params))


def setup(
    *,
    key: str,
    public_url: str | None,
    channel: str | None,
    round_robin: bool,
    secret: str | None,
    locale: str,
) -> Message:
    """``/pipeline inbound``: where to send leads, how they are assigned, the secret once."""
    base = (public_url or "").rstrip("/")
    endpoint, form = f"{base}/leads/{key}", f"{base}/forms/{key}"
    lines = [
        t(locale, "inbound.setup.endpoint", url=endpoint),
        t(locale, "inbound.setup.form", url=form),
        t(locale, "inbound.setup.channel", channel=f"<#{channel}>" if channel else fmt.EMPTY),
        t(locale, "inbound.setup.rr_on" if round_robin else "inbound.setup.rr_off"),
        t(
            locale,
            "inbound.setup.limits",
            api=fmt.number(API_BUCKET.capacity, locale),
            form=fmt.number(FORM_BUCKET.capacity, locale),
        ),
    ]
    blocks = [b.header(t(locale, "inbound.setup.title")), b.section("\n".join(lines))]
    if not public_url:
        blocks.append(b.context(t(locale, "inbound.setup.no_public_url")))
    if secret:
        blocks.append(b.section(t(locale, "inbound.setup.secret", secret=secret)))
    else:
        blocks.append(b.context(t(locale, "inbound.setup.secret_hidden")))
    blocks.append(b.context(t(locale, "inbound.setup.how")))
    rotate = b.button(t(locale, "inbound.action.rotate"), Action.inbound_rotate, "rotate")
    rotate["confirm"] = {
        "title": b.plain(t(locale, "inbound.rotate_confirm.title"), 100),
        "text": b.plain(t(locale, "inbound.rotate_confirm.text"), 300),
        "confirm": b.plain(t(locale, "inbound.rotate_confirm.yes"), 30),
        "deny": b.plain(t(locale, "inbound.rotate_confirm.no"), 30),
        "style": "danger",
    }
    blocks.append(b.actions([rotate]))
    text = "\n".join(lines)
    return Message(text=text, blocks=blocks)


def rotated(secret: str, locale: str) -> Message:
    text = t(locale, "inbound.rotated", secret=secret)
    return Message(text=text, blocks=[b.section(text)])
