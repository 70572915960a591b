"""``salesbot serve``: the Slack app over HTTP, on waitress.

waitress is a production-grade, pure-Python, multi-threaded WSGI server: no C build, no
separate process manager, the same on Linux, macOS and Windows, and Bolt's WSGI adapter plugs
straight in. Routes: ``POST /slack/events`` (commands, interactivity and events: one Request
URL for all three) and ``GET /healthz`` (200 when the database answers, 503 otherwise); in
OAuth mode also ``GET /slack/install`` and ``GET /slack/oauth_redirect`` (bot.oauth); and
the inbound lead endpoint and form, ``POST /leads/<key>`` and ``GET /forms/<key>``, which
answer for themselves (bot.inbound_http, docs/inbound.md).

The server starts whether or not the database answers: ``/healthz`` says 503 and commands
answer "can't reach the database" until it is back (a schema that could not be brought up to
date at start is upgraded then, see :func:`cli.main.engine_for`). The process's outbox
drainer starts and stops with the server.

**Before Bolt.** What is not a request from Slack is answered here, with an HTTP status and
one line in the log, never a traceback (Bolt would raise on a timestamp like ``abc`` or a
payload like ``[1, 2]``, and its error handler would turn that into a 200):

* **413** for a body over :data:`MAX_BODY`, 1 MiB. Slack's requests are a few kilobytes (a
  modal's view with every input's state is the biggest, far below 100 KB), so 1 MiB is
  generous and bounds what one request can make us hold. A ``Content-Length`` over the cap is
  refused before anything is read; without a usable one at most ``MAX_BODY + 1`` bytes are
  read. waitress holds the same cap (``max_request_body_size``), so it stops buffering a
  bigger body, chunked or not, before the app is even called.
* **401** unless Slack signed it: ``X-Slack-Request-Timestamp`` is whole seconds in ASCII
  digits within five minutes of now, ``X-Slack-Signature`` is ``v0=`` and 64 hex digits, and
  the HMAC matches (slack_sdk's ``SignatureVerifier``, the signing secret Bolt uses). Slack
  signs UTF-8 text; a body that is not UTF-8 cannot carry its signature and is a 401 too.
* **400** for a signed body that is not one of Slack's three requests: a slash command
  (form fields), an interaction (a form field ``payload`` holding a JSON object) or an Events
  API delivery (a JSON object). Their envelope must hold what Bolt and our middleware read:
  Slack ids where ids go (:mod:`bot.payloads`), objects where objects go. No text in it
  may hold a NUL (PostgreSQL cannot store one) or half a surrogate pair (not UTF-8, so no
  database can): Slack sends neither.

Everything else goes to Bolt as it came; Bolt checks the signature again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from urllib.parse import parse_qsl

import sqlalchemy as sa
from slack_bolt import BoltRequest
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.context import BoltContext
from slack_bolt.request.internals import build_context
from slack_sdk.signature import SignatureVerifier

from bot.app import create_app
from bot.context import ARRIVED
from bot.payloads import slack_id
from bot.settings import Settings

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
INBOUND_PATHS = ("/leads/", "/forms/")
MAX_BODY = 1024 * 1024  # bytes; see the module docstring
LISTENERS_GRACE = 10.0  # seconds a stopping server gives the answers of acked requests
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # int() would also take " 1", "+1", "1_0" and "١"
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def wsgi_app(settings: Settings, *, engine, clock=None):
    from bot import inbound_http  # it reads bodies with this module's helpers

    bolt_app = create_app(settings, engine=engine, clock=clock)
    gate = Gate(settings.signing_secret)

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _health(engine, start_response)
        flow = bolt_app.oauth_flow
        if (
            flow is not None
            and method == "GET"
            and path
            in (
                flow.install_path,
                flow.redirect_uri_path,
            )
        ):
            return _oauth(flow, path, environ, start_response)
        if path.startswith(INBOUND_PATHS):  # leads that arrive by themselves (docs/inbound.md)
            return inbound_http.handle(environ, start_response, deps=bolt_app.salesbot_deps)
        if path == EVENTS_PATH and method == "POST":
            arrived = time.monotonic()  # the ack budget counts from here (Deps.budget_left)
            try:
                request = gate.admit(environ)
            except Refused as refused:
                return refused.answer(start_response)
            request.context[ARRIVED] = arrived
            response = bolt_app.dispatch(request)
            answer = WsgiHttpResponse(response.status, response.headers, response.body)
            start_response(answer.status, answer.get_headers())
            return answer.get_body()
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    application.deps = bolt_app.salesbot_deps  # tests tune the ack budget
    application.bolt = bolt_app  # tests wait for its listeners to finish
    return application


def _oauth(flow, path: str, environ, start_response):
    """The "Add to Slack" page, or Slack's redirect back after an install (Bolt's flow)."""
    request = BoltRequest(
        body="",
        query=environ.get("QUERY_STRING", ""),
        headers=WsgiHttpRequest(environ).get_headers(),
    )
    if path == flow.install_path:
        response = flow.handle_installation(request)
    else:
        response = flow.handle_callback(request)
    answer = WsgiHttpResponse(response.status, response.headers, response.body)
    start_response(answer.status, answer.get_headers())
    return answer.get_body()


def start_drainer(deps) -> None:
    """The outbox drainer, and the Slack imports a process that died left unfinished."""
    if deps.drainer is not None:
        deps.drainer.start()
        from bot.importer import resume

        try:
            resume(deps)
        except Exception as exc:  # the database is down at start: they wait for the next start
            log.warning("could not look for unfinished imports: %s", str(exc)[:300])


def stop_drainer(deps) -> None:
    if deps.drainer is not None:
        deps.drainer.stop()


def finish_listeners(bolt, timeout: float = LISTENERS_GRACE) -> None:
    """Lets the listeners answering requests already acked end (for at most ``timeout``
    seconds) once the server takes no more requests: their replies go out, and what they
    record in the outbox is there before the drainer stops. A listener still running after
    that keeps its thread; its rows wait in the outbox for the next start."""
    executor = bolt.listener_runner.listener_executor
    executor.shutdown(wait=False)
    deadline = time.monotonic() + timeout
    for thread in list(getattr(executor, "_threads", ())):
        thread.join(max(0.0, deadline - time.monotonic()))


class Refused(Exception):
    """A request answered before Bolt: its HTTP status and, for the log, why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason

    def answer(self, start_response):
        # Signed but unreadable is worth a warning (Slack changed, or the secret leaked);
        # unsigned and oversized requests are the internet's background noise.
        level = logging.WARNING if self.status == 400 else logging.INFO
        log.log(level, "refused a request with %s: %s", self.status, self.reason)
        answer = WsgiHttpResponse(self.status, {"content-type": ["text/plain"]}, self.reason)
        start_response(answer.status, answer.get_headers())
        return answer.get_body()


class Gate:
    """Admits Slack's requests to Bolt and refuses the rest (see the module docstring)."""

    def __init__(self, signing_secret: str | None) -> None:
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None

    def admit(self, environ) -> BoltRequest:
        body = read_body(environ)
        headers = WsgiHttpRequest(environ).get_headers()
        text = self.signed_text(body, headers)
        content_type = headers.get("content-type")
        data = read_payload(text, content_type)
        query = environ.get("QUERY_STRING", "")
        try:
            if _bolt_reads_alike(text, content_type):
                request = _read_request(text, data, query, headers)
            else:  # Bolt's way differs (and may fail: a 400, as before); it gets our fields
                request = BoltRequest(body=text, query=query, headers=headers)
                if request.body != data:
                    request.body = data
                    request.context = build_context(BoltContext(), data)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            raise Refused(400, f"Bolt cannot read this request ({type(exc).__name__})") from None
        for key in ("team_id", "user_id", "enterprise_id", "channel_id"):
            value = request.context.get(key)
            if value and slack_id(value) is None:  # empty ones are absent to everyone
                raise Refused(400, f"{key} is not a Slack id")
        return request

    def signed_text(self, body: bytes, headers: dict) -> str:
        """The body as text, if Slack signed it; Refused(401) otherwise."""
        timestamp = headers.get("x-slack-request-timestamp") or ""
        signature = headers.get("x-slack-signature") or ""
        if self.verifier is None:
            raise Refused(401, "no signing secret is configured")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise Refused(401, "the request timestamp is not a number of seconds")
        if not _SIGNATURE.fullmatch(signature):
            raise Refused(401, "the signature is missing or malformed")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(401, "the body is not UTF-8, so Slack did not sign it") from None
        if not self.verifier.is_valid(text, timestamp, signature):
            raise Refused(401, "invalid or expired signature")
        return text


def _bolt_reads_alike(text: str, content_type: str | None) -> bool:
    """Whether Bolt's own parse of ``text`` takes the way :func:`read_payload` took: JSON for
    a JSON body (Bolt: the exact type, or text that starts with ``{``), form fields
    otherwise. Bolt's result is then our dict, or one we would replace with ours anyway
    (Bolt reads any form body containing the letters "payload" as an interaction, so
    "/deal note 1 payload shipped" would reach it as {})."""
    kind = (content_type or "").split(";")[0]
    ours_json = kind.strip().lower() == JSON  # read_payload's test
    bolts_json = kind == JSON or text.startswith("{")  # Bolt's: exact type, or a brace
    return ours_json == bolts_json


def _read_request(text: str, data: dict, query: str, headers: dict) -> BoltRequest:
    """Bolt's request for a body read already, without Bolt reading it again (its
    ``parse_qsl`` or ``json.loads``: ~10 µs of a slash command's 30 in the gate, issue 17).
    Bolt's constructor takes a dict only in its socket mode; the request is then told it
    came over HTTP with this text, which Bolt's signature check reads. The same fields as
    ``BoltRequest(body=text, ...)`` with ``data`` as its body and context."""
    request = BoltRequest(body=data, query=query, headers=headers, mode="socket_mode")
    request.raw_body, request.mode = text, "http"
    return request


def read_body(environ) -> bytes:
    """The request body, at most :data:`MAX_BODY` bytes; Refused(413) past the cap."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    length = int(declared) if declared.isascii() and declared.isdigit() else None
    if length is not None and length > MAX_BODY:
        raise Refused(413, f"the body is over {MAX_BODY} bytes")
    body = stream.read(MAX_BODY + 1 if length is None else length)
    if len(body) > MAX_BODY:
        raise Refused(413, f"the body is over {MAX_BODY} bytes")
    return body


def read_payload(text: str, content_type: str | None) -> dict:
    """The request as Slack sends it, as a dict; Refused(400) for anything else."""
    kind = (content_type or "").split(";")[0].strip().lower()
    try:
        if kind == JSON:
            data = _object(json.loads(text), "a JSON body")
            problem = _events_api_problem(data)
        elif kind == FORM:
            fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
            if "payload" in fields:
                data = _object(json.loads(fields["payload"]), "the payload")
                problem = _interaction_problem(data)
            else:
                data = fields
                problem = _slash_command_problem(fields)
        else:
            raise Refused(400, "Slack sends form-encoded or JSON bodies")
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and parse_qsl's are ValueErrors
        raise Refused(400, f"the body cannot be read ({type(exc).__name__})") from None
    if problem is None:
        problem = _ids_problem(data) or _unstorable_text(data)
    if problem is not None:
        raise Refused(400, problem)
    return data


def _object(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is not a JSON object")
    return value


def _slash_command_problem(fields: dict) -> str | None:
    if "ssl_check" in fields:
        return None  # Slack's certificate check: Bolt answers it
    missing = [key for key in ("command", "team_id", "user_id") if not fields.get(key)]
    return f"a slash command without {', '.join(missing)}" if missing else None


def _events_api_problem(data: dict) -> str | None:
    kind = data.get("type")
    if kind in ("url_verification", "app_rate_limited"):
        return None  # Bolt answers the first, and ignores the second
    if kind != "event_callback":
        return "a JSON body that is not an Events API delivery"
    event = data.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "an event_callback without an event"
    if slack_id(data.get("team_id")) is None:
        return "an event_callback without a team_id"
    if not isinstance(data.get("authorizations", []), list):
        return "authorizations is not a list"
    user = event.get("user")
    if isinstance(user, str) and user and slack_id(user) is None:
        return "event.user is not a Slack id"
    return None


def _interaction_problem(data: dict) -> str | None:
    kind = data.get("type")
    if not isinstance(kind, str):
        return "an interaction without a type"
    user, team = data.get("user"), data.get("team")
    if not isinstance(user, dict):
        return "an interaction without a user"
    if not (isinstance(team, dict) and team.get("id")) and not user.get("team_id"):
        return "an interaction without a team"  # org-wide installs send team: null
    for key in ("team", "enterprise", "channel", "view", "container", "message"):
        if data.get(key) is not None and not isinstance(data.get(key), dict):
            return f"{key} is not an object"
    for key in ("response_url", "trigger_id"):
        if data.get(key) is not None and not isinstance(data.get(key), str):
            return f"{key} is not text"
    if not isinstance(data.get("response_urls", []), list):
        return "response_urls is not a list"
    if kind == "block_actions":
        actions = data.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without actions"
        if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "an action without an action_id"
    if kind in ("view_submission", "view_closed"):
        view = data.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("callback_id"), str):
            return f"{kind} without a view"
    return None


# Where our middleware (bot.context) reads the workspace and the acting user.
_ID_PATHS = (("team_id",), ("user_id",), ("team", "id"), ("user", "id"), ("user", "team_id"))


def _ids_problem(data: dict) -> str | None:
    for key in ("team", "user"):
        if data.get(key) is not None and not isinstance(data.get(key), dict):
            return f"{key} is not an object"
    for path in _ID_PATHS:
        value = data.get(path[0])
        if len(path) == 2:
            value = value.get(path[1]) if isinstance(value, dict) else None
        if value and slack_id(value) is None:  # the middleware reads empty ones as absent
            return f"{'.'.join(path)} is not a Slack id"
    return None


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UNSTORABLE_TEXT = "text with a NUL or a lone surrogate, which no database stores"


def _unstorable_text(data: dict) -> str | None:
    """A NUL or a lone surrogate anywhere in the request (keys too); iterative, since a deep
    JSON body would take a recursive walk past Python's recursion limit. A slash command's
    fields are all text: one search over them joined (a fifth of the walk's time)."""
    try:
        flat = "".join(data) + "".join(data.values())
    except TypeError:  # a value that is not text: walk
        pass
    else:
        return _UNSTORABLE_TEXT if _UNSTORABLE.search(flat) else None
    stack: list = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and _UNSTORABLE.search(value):
            return _UNSTORABLE_TEXT
    return None


def _health(engine, start_response):
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        status, body = "200 OK", {"ok": True, "database": engine.dialect.name}
    except Exception as exc:  # the check is the point: report, do not raise
        log.warning("health check failed: %s", (str(exc).strip().splitlines() or [""])[0])
        status, body = "503 Service Unavailable", {"ok": False, "error": "database unavailable"}
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def make_server(settings: Settings, *, engine, host: str, port: int, clock=None, threads: int = 8):
    """A waitress server, not yet running (tests start it in a thread; ``port=0`` picks one)."""
    from waitress.server import create_server

    application = wsgi_app(settings, engine=engine, clock=clock)
    server = create_server(
        application,
        host=host,
        port=port,
        threads=threads,
        ident="salesbot",
        clear_untrusted_proxy_headers=True,
        max_request_body_size=MAX_BODY + 1,  # waitress refuses from this size on: 413
    )
    server.salesbot_deps = application.deps
    server.salesbot_bolt = application.bolt
    return server


def serve(
    settings: Settings, *, engine, host: str, port: int, scheduler: bool = True, workers: int = 1
) -> None:
    """One process on waitress, or with ``workers`` over 1 that many on gunicorn (bot.prefork)."""
    if not settings.signing_secret:
        raise SystemExit("salesbot serve needs SLACK_SIGNING_SECRET (see .env.example)")
    if workers > 1:
        try:
            from bot.prefork import serve_workers
        except ImportError:  # gunicorn forks: not on Windows
            log.warning("--workers needs gunicorn (POSIX only); serving in one process")
        else:
            serve_workers(
                settings, engine=engine, host=host, port=port, workers=workers, scheduler=scheduler
            )
            return
    server = make_server(settings, engine=engine, host=host, port=port)
    deps = server.salesbot_deps
    start_drainer(deps)
    background = start_scheduler(settings, engine, deps.drainer) if scheduler else None
    log.info("serving Slack events on http://%s:%s%s", host, server.effective_port, EVENTS_PATH)
    if server.salesbot_bolt.oauth_flow is not None:
        log.info("installs (OAuth): http://%s:%s/slack/install", host, server.effective_port)
    try:
        server.run()
    finally:
        if background is not None:
            background.shutdown(wait=False)
        finish_listeners(server.salesbot_bolt)
        stop_drainer(deps)


def start_scheduler(settings: Settings, engine, drainer=None):
    from scheduler import runner

    return runner.start(settings, engine=engine, drainer=drainer)


class Running:
    """A server started by :func:`serve_in_thread`; ``close()`` stops it cleanly."""

    def __init__(self, server, thread: threading.Thread, url: str) -> None:
        self.server, self.thread, self.url = server, thread, url

    def close(self) -> None:
        # No more requests; then the answers of those acked already (a test's last click,
        # answered after its test ended, would reach a fake Slack that is gone and be logged
        # in whichever test runs next); then the drainer, waiting for a send in flight to end
        # (a connection-error retry against an unreachable URL can outlast a short join): a
        # worker left running would mark rows of whatever runs next on the same database.
        stop_waitress(self.server, self.thread)
        finish_listeners(self.server.salesbot_bolt, timeout=60.0)
        drainer = self.server.salesbot_deps.drainer
        if drainer is not None:
            drainer.stop(timeout=60.0)


def stop_waitress(server, thread: threading.Thread) -> None:
    """Stops a waitress server run in ``thread``, from its own loop thread.

    Closing its channels from here would race the loop's select(). The trigger's pipe can be
    gone already (a CI run saw EBADF on it), and then there is nothing left to wake.
    """

    def close_everything() -> None:
        for channel in list(server._map.values()):
            channel.close()

    with contextlib.suppress(OSError):
        server.trigger.pull_trigger(close_everything)
    thread.join(timeout=5)
    server.task_dispatcher.shutdown()


def serve_in_thread(settings: Settings, *, engine, clock=None, host: str = "127.0.0.1") -> Running:
    """For tests and benchmarks: the app on a free loopback port, in a thread."""
    server = make_server(settings, engine=engine, host=host, port=0, clock=clock)
    start_drainer(server.salesbot_deps)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return Running(server, thread, f"http://{host}:{server.effective_port}")
