"""``POST /leads/<key>`` and ``GET /forms/<key>``: leads that arrive by themselves, over
plain HTTP beside Slack's Request URL (the contract is docs/inbound.md).

In this order, each answer final, nothing stored before the last step:

1. **404** ``not_found``: no workspace has that key.
2. **413** a body over :data:`MAX_BODY`; **415** a body neither JSON nor form-encoded;
   **400** ``bad_body`` a body that does not read (a JSON value that is not an object).
3. **401** ``unauthorized``: the secret (``Authorization: Bearer <secret>`` or
   ``X-Salesbot-Secret``) is missing or wrong, or — for the web form — its token is missing,
   forged or more than a day old. A form post whose honeypot is filled in gets the thanks
   page and is dropped.
4. **400** ``invalid_fields``: every field that does not read, with why.
5. **429** ``rate_limited`` with ``Retry-After``: the workspace's bucket is empty; **409**
   ``idempotency_key_reused``: an ``Idempotency-Key`` already used for other fields.
6. **201** a new lead; **200** a retry of one already made (``"replayed": true``).

**503** ``unavailable`` with ``Retry-After`` while the database cannot be reached (nothing was
stored: the sender retries, with its ``Idempotency-Key``); **500** ``internal`` for a bug,
logged with its traceback here and never shown to the sender.

Form posts get HTML (the thanks page, or the form again with what to fix); the rest JSON.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from bot.server import FORM, JSON, Refused, read_body
from commands.failures import user_message
from commands.handlers.inbound import receive
from commands.inbound_fields import BadSubmission, read_submission
from domain import custom_fields, inbound
from domain.errors import Conflict, SalesbotError
from i18n import t
from storage.db import session_scope, unreachable
from storage.models import InboundSource, Workspace
from views import inbound_page

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024  # bytes: a lead is a few hundred
HONEYPOT = "website"
RETRY_DOWN = 30  # seconds a sender is asked to wait while the database is unreachable
# The form page: its token is fresh per load, and it is HTML only. It may be framed anywhere.
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class Answer(Exception):
    """The response, as soon as it is known."""

    def __init__(self, status: int, body: dict | str, headers: dict | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def handle(environ, start_response, *, deps):
    method = environ.get("REQUEST_METHOD", "GET")
    kind, _, key = environ.get("PATH_INFO", "").strip("/").partition("/")
    try:
        if "/" in key or not key:
            raise Answer(404, {"ok": False, "error": "not_found"})
        if kind == "forms" and method in ("GET", "HEAD"):
            return _respond(start_response, _form(deps, key))
        if kind == "leads" and method == "POST":
            return _respond(start_response, _post(deps, key, environ))
        raise Answer(405, {"ok": False, "error": "method_not_allowed"}, {"Allow": _allowed(kind)})
    except Answer as answer:
        return _respond(start_response, answer)
    except Exception as exc:  # answered, never a traceback to the sender
        if unreachable(exc):
            # The error's class, not its text: that can hold the lead's data.
            cause = type(getattr(exc, "orig", None) or exc).__name__
            log.warning("inbound %s: the database is unreachable (%s)", kind, cause)
            down = {"ok": False, "error": "unavailable"}
            return _respond(start_response, Answer(503, down, {"Retry-After": RETRY_DOWN}))
        log.exception("inbound %s failed", kind)
        return _respond(start_response, Answer(500, {"ok": False, "error": "internal"}))


def _allowed(kind: str) -> str:
    return "GET, HEAD" if kind == "forms" else "POST"


def _respond(start_response, answer: Answer):
    if isinstance(answer.body, str):
        data, kind = answer.body.encode("utf-8"), "text/html; charset=utf-8"
    else:
        data, kind = json.dumps(answer.body, ensure_ascii=False).encode(), "application/json"
    reason = HTTPStatus(answer.status).phrase
    headers = [("Content-Type", kind), ("Content-Length", str(len(data)))]
    headers += [(k, str(v)) for k, v in answer.headers.items()]
    start_response(f"{answer.status} {reason}".strip(), headers)
    return [data]


def _source(deps, key: str) -> tuple[InboundSource, Workspace]:
    with session_scope(deps.engine, readonly=True) as session:
        source = inbound.by_key(session=session, key=key)
        workspace = session.get(Workspace, source.workspace_id) if source else None
    if source is None or workspace is None or workspace.uninstalled_at is not None:
        raise Answer(404, {"ok": False, "error": "not_found"})
    return source, workspace


def _form(deps, key: str) -> Answer:
    source, workspace = _source(deps, key)
    html = inbound_page.page(
        key=source.key,
        token=inbound.form_token(source, deps.clock.now()),
        locale=workspace.locale,
        title=workspace.name or t(workspace.locale, "inbound.form.default_title"),
    )
    return Answer(200, html, PAGE_HEADERS)


def _post(deps, key: str, environ) -> Answer:
    source, workspace = _source(deps, key)
    fields, headers = _fields(environ)
    now = deps.clock.now()
    secret = _secret(headers)
    locale = workspace.locale
    form = secret is None and "form_token" in fields
    page = _FormPage(source, workspace, deps, fields) if form else None
    if secret is not None:
        if not inbound.secret_matches(source, secret):
            raise Answer(401, {"ok": False, "error": "unauthorized"})
    elif not (form and inbound.form_token_valid(source, str(fields["form_token"]), now)):
        raise Answer(401, {"ok": False, "error": "unauthorized"})
    if form and str(fields.get(HONEYPOT) or "").strip():
        log.info("inbound form post with its honeypot filled in: dropped")
        return page.thanks()
    retry_key = headers.get("idempotency-key") or None
    if retry_key is not None and len(retry_key) > inbound.KEY_MAX:
        raise Answer(400, {"ok": False, "error": "bad_idempotency_key", "limit": inbound.KEY_MAX})
    with session_scope(deps.engine, readonly=True) as session:  # mapped by key or name
        custom = custom_fields.fields(session=session, workspace_id=workspace.id, entity="leads")
    try:
        submission = read_submission(
            fields,
            today=now.astimezone(ZoneInfo(workspace.timezone)).date(),
            timezone=workspace.timezone,
            via="form" if form else "api",
            retry_key=retry_key,
            custom=custom,
            currency=workspace.currency,
        )
        with session_scope(deps.engine) as session:
            accepted = receive(session=session, source_id=source.id, submission=submission, now=now)
            number, created = accepted.lead.number, accepted.created
    except BadSubmission as bad:
        problems = [
            {"field": p.field, "reason": t(locale, p.key, **p.params)} for p in bad.problems
        ]
        if page is not None:
            return page.again(problems)
        raise Answer(400, {"ok": False, "error": "invalid_fields", "fields": problems}) from None
    except inbound.Limited as limited:
        raise Answer(
            429,
            {"ok": False, "error": "rate_limited", "retry_after": limited.retry_after},
            {"Retry-After": limited.retry_after},
        ) from None
    except Conflict as conflict:  # an Idempotency-Key sent again with other fields
        message = user_message(conflict, locale)
        reused = {"ok": False, "error": "idempotency_key_reused", "message": message}
        raise Answer(409, reused) from None
    except SalesbotError as error:  # the domain's own checks, should a field pass ours
        reason = user_message(error, locale)
        if page is not None:
            return page.again([{"field": "", "reason": reason}])
        problems = [{"field": "", "reason": reason}]
        raise Answer(400, {"ok": False, "error": "invalid_fields", "fields": problems}) from None
    deps.wake()
    if page is not None:
        return page.thanks()
    body = {"ok": True, "lead": f"L{number}", "replayed": not created}
    return Answer(201 if created else 200, body)


class _FormPage:
    """A form post's answers: the thanks page, or the form again with what to fix."""

    def __init__(self, source, workspace, deps, fields) -> None:
        self.source, self.workspace, self.deps, self.fields = source, workspace, deps, fields

    def _page(self, **kwargs) -> str:
        locale = self.workspace.locale
        return inbound_page.page(
            key=self.source.key,
            token=inbound.form_token(self.source, self.deps.clock.now()),
            locale=locale,
            title=self.workspace.name or t(locale, "inbound.form.default_title"),
            **kwargs,
        )

    def thanks(self) -> Answer:
        return Answer(200, self._page(thanks=True), PAGE_HEADERS)

    def again(self, problems: list[dict]) -> Answer:
        lines = [f"{p['field']}: {p['reason']}" if p["field"] else p["reason"] for p in problems]
        values = {k: str(v) for k, v in self.fields.items() if isinstance(v, str)}
        return Answer(400, self._page(values=values, problems=lines), PAGE_HEADERS)


def _secret(headers: dict) -> str | None:
    given = headers.get("x-salesbot-secret")
    if given:
        return given
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _fields(environ) -> tuple[dict, dict]:
    """The body's fields and the request's headers (lower-case names)."""
    headers = {
        name[5:].replace("_", "-").lower(): value
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise Answer(413, {"ok": False, "error": "too_large", "limit": MAX_BODY})
    try:
        body = read_body(environ)
    except Refused:
        raise Answer(413, {"ok": False, "error": "too_large", "limit": MAX_BODY}) from None
    if len(body) > MAX_BODY:
        raise Answer(413, {"ok": False, "error": "too_large", "limit": MAX_BODY})
    kind = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    bad = Answer(400, {"ok": False, "error": "bad_body"})
    try:
        text = body.decode("utf-8")
        if kind == JSON:
            fields = json.loads(text)
            if not isinstance(fields, dict):
                raise bad
        elif kind == FORM:
            fields = dict(parse_qsl(text, keep_blank_values=True))
        else:
            raise Answer(415, {"ok": False, "error": "unsupported_media_type"})
    except (ValueError, RecursionError):
        raise bad from None
    return fields, headers
