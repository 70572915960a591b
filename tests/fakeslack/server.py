"""FakeSlack: the HTTP server, the recorded calls and the knobs tests turn (failures, users).

Everything a test reads (``calls``, ``problems``, ``files``, ``messages()``) is written under one
lock by the server threads, so listeners running in Bolt's thread pool and the test thread can
both look at it; ``wait_for`` and friends block on the same lock's condition.
"""

from __future__ import annotations

import copy
import mimetypes
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from tests.fakeslack import methods
from tests.fakeslack.blockkit import message_error, validate_message
from tests.fakeslack.socket import SocketServer
from tests.fakeslack.teams import Teams
from tests.fakeslack.wire import Handler, HTTPServer

RESPONSE_URL_USES = 5  # Slack: a response_url takes 5 messages within 30 minutes


@dataclass
class Call:
    """One request as the server saw it, and what it answered."""

    method: str  # Web API method, or "response_url"
    args: dict  # request arguments (JSON-string fields decoded), without the token
    status: int  # HTTP status
    response: dict  # the JSON body answered (for response_url: {"ok": ..., "error"?: ...})
    at: float  # time.time() when it arrived
    token: str = ""  # the token used (Bearer header or form field)
    target: str = ""  # the id of the response_url posted to

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class _Failure:
    method: str
    status: int
    error: str
    retry_after: int | None
    times: int
    when: Callable[[dict], bool] | None
    until: float | None = None  # time.monotonic() deadline (fail_for), instead of a count


@dataclass
class _Delay:
    method: str
    seconds: float
    times: int
    drop: bool  # the request never reaches Slack: wait, then fail without doing the work


@dataclass
class _State:
    """Everything reset() clears."""

    calls: list[Call] = field(default_factory=list)
    problems: list[tuple[str, list[str]]] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    delays: list[_Delay] = field(default_factory=list)
    waiting: dict[str, int] = field(default_factory=dict)
    messages: dict[str, list[dict]] = field(default_factory=dict)
    views: dict[str, dict] = field(default_factory=dict)
    uploads: dict[str, dict] = field(default_factory=dict)
    shared: dict[str, dict] = field(default_factory=dict)  # files people shared (share_file)
    expired_triggers: set[str] = field(default_factory=set)
    used_triggers: set[str] = field(default_factory=set)
    opened_dms: set[str] = field(default_factory=set)
    response_url_uses: dict[str, int] = field(default_factory=dict)
    socket_acks: list[dict] = field(default_factory=list)


class FakeSlack:
    """A Slack-compatible Web API on 127.0.0.1:<free port>, served from its own thread."""

    def __init__(
        self,
        team_id: str = "T1",
        bot_user_id: str = "UBOT",
        *,
        bot_id: str = "BBOT",
        team_name: str = "Fake Team",
        team_domain: str = "fake",
        app_id: str = "AFAKEAPP",
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.app_id = app_id
        self.users: dict[str, dict] = {}  # users.info overrides, e.g. {"U1": {"is_admin": True}}
        self.channels: dict[str, dict] = {}  # conversations.info overrides
        self._cond = threading.Condition(threading.RLock())
        self._state = _State()
        self._counter = 0
        self._http: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: SocketServer | None = None
        self.oauth = Teams()  # OAuth installs; tokens bound to teams once one is installed

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        self._http = HTTPServer(("127.0.0.1", 0), Handler)
        self._http.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.stop()
            self._socket = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._thread.join(timeout=5)
            self._http = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT/"""
        assert self._http is not None, "FakeSlack is not started"
        return f"http://127.0.0.1:{self._http.server_address[1]}/"

    @property
    def url(self) -> str:
        """The Web API base URL for WebClient(base_url=...) / SLACK_API_URL."""
        return self.base + "api/"

    def response_url(self, id: str) -> str:
        return f"{self.base}response/{id}"

    # -- what tests read ------------------------------------------------------------------------
    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._state.calls)

    @property
    def problems(self) -> list[tuple[str, list[str]]]:
        with self._cond:
            return list(self._state.problems)

    @property
    def files(self) -> list[dict]:
        with self._cond:
            return copy.deepcopy(self._state.files)

    @property
    def views(self) -> dict[str, dict]:
        """Current views by id (opened, pushed, updated, published)."""
        with self._cond:
            return copy.deepcopy(self._state.views)

    @property
    def socket_acks(self) -> list[dict]:
        """Acks received over Socket Mode: {"envelope_id", "payload"?, "at"}."""
        with self._cond:
            return copy.deepcopy(self._state.socket_acks)

    def calls_to(self, method: str, ok_only: bool = True) -> list[Call]:
        with self._cond:
            return [c for c in self._state.calls if c.method == method and (c.ok or not ok_only)]

    def messages(self, channel: str) -> list[dict]:
        """The channel as it stands: posted messages in order, as last updated."""
        with self._cond:
            return copy.deepcopy(self._state.messages.get(channel, []))

    def wait_for(self, method: str, count: int = 1, timeout: float = 5) -> list[Call]:
        """Blocks until ``count`` successful calls to ``method`` arrived; returns them."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.calls_to(method)) >= count, timeout)
            if not ok:
                seen = [(c.method, c.status, c.response.get("error")) for c in self._state.calls]
                raise AssertionError(
                    f"waited {timeout}s for {count} successful {method} call(s); calls: {seen}"
                )
            return self.calls_to(method)

    # -- knobs ----------------------------------------------------------------------------------
    def wait_for_answer(self, target: str, trigger_id: str, timeout: float = 5) -> Call:
        """Blocks until a command's late answer arrived: the first post to its response_url
        ``target``, or the modal opened with its ``trigger_id``."""

        def answers() -> list[Call]:
            return [
                c
                for c in self._state.calls
                if (c.method == "response_url" and c.target == target)
                or (c.method == "views.open" and c.args.get("trigger_id") == trigger_id)
            ]

        with self._cond:
            if not self._cond.wait_for(answers, timeout):
                raise AssertionError(f"waited {timeout}s for the answer to {target}")
            return answers()[0]

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        when: Callable[[dict], bool] | None = None,
    ) -> None:
        """Make the next ``times`` calls to ``method`` (matching ``when(args)``) fail.

        status 429 answers ``ratelimited`` with a Retry-After header (default 1 s); status 200
        answers ``{"ok": false, "error": error}``; other statuses answer a Slack-like error body.
        """
        if error is None:
            error = {200: "fatal_error", 429: "ratelimited"}.get(status, "internal_error")
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._cond:
            self._state.failures.append(_Failure(method, status, error, retry_after, times, when))

    def fail_for(self, methods: tuple[str, ...], seconds: float, *, status: int = 500) -> None:
        """An outage: every call to ``methods`` fails with ``status`` for ``seconds``."""
        error = {429: "ratelimited"}.get(status, "internal_error")
        until = time.monotonic() + seconds
        with self._cond:
            for name in methods:
                self._state.failures.append(_Failure(name, status, error, None, 1, None, until))

    def slow_next(self, method: str, seconds: float, *, times: int = 1, drop: bool = False) -> None:
        """Make the next ``times`` calls to ``method`` slow: by default Slack does the work
        (the message is posted) and answers ``seconds`` later — the window in which a
        client that dies never learns the message went out. ``drop``: the request is lost
        on the way (nothing happens; after ``seconds`` it fails with a 503)."""
        with self._cond:
            self._state.delays.append(_Delay(method, seconds, times, drop))

    def in_flight(self, method: str) -> int:
        """Calls to ``method`` that arrived and have not been answered yet."""
        with self._cond:
            return self._state.waiting.get(method, 0)

    def expire_trigger(self, trigger_id: str) -> None:
        """views.open / views.push with this trigger id will answer expired_trigger_id."""
        with self._cond:
            self._state.expired_triggers.add(trigger_id)

    def reset(self) -> None:
        """Forget calls, problems, messages, views, files, failures and acks (users stay)."""
        with self._cond:
            self._state = _State()

    # -- Socket Mode ----------------------------------------------------------------------------
    def socket_url(self) -> str:
        """Starts the Socket Mode server on first use; apps.connections.open answers this."""
        with self._cond:
            if self._socket is None:
                self._socket = SocketServer(self, on_event=self._on_socket_event)
                self._socket.start()
            return self._socket.url

    def socket_send(
        self, payload_type: str, payload: dict, retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        """Sends an envelope to the connected app; returns its envelope_id."""
        if self._socket is None:
            raise AssertionError("no Socket Mode connection: call apps.connections.open first")
        return self._socket.send_envelope(payload_type, payload, retry_attempt, retry_reason)

    def wait_socket_connected(self, timeout: float = 10) -> None:
        with self._cond:
            ok = self._cond.wait_for(
                lambda: self._socket is not None and self._socket.connected, timeout
            )
        if not ok:
            raise AssertionError(f"no Socket Mode client connected within {timeout}s")

    def wait_socket_ack(self, envelope_id: str, timeout: float = 5) -> dict:
        """Blocks until the app acked ``envelope_id``; returns the ack's payload ({} if none)."""

        def find() -> dict | None:
            return next(
                (a for a in self._state.socket_acks if a.get("envelope_id") == envelope_id), None
            )

        with self._cond:
            ack = self._cond.wait_for(find, timeout)
        if ack is None:
            raise AssertionError(f"envelope {envelope_id} was not acked within {timeout}s")
        return copy.deepcopy(ack.get("payload") or {})

    def _on_socket_event(self, ack: dict | None = None) -> None:
        with self._cond:
            if ack is not None:
                self._state.socket_acks.append(ack)
            self._cond.notify_all()

    # -- used by methods.py (always under the lock) ---------------------------------------------
    def next_ts(self) -> str:
        """Slack's message ts: the time it was posted, in microseconds, unique per workspace
        (strictly increasing here), so ``oldest``/``latest`` windows work as in Slack."""
        self._counter += 1
        self._last_micros = max(getattr(self, "_last_micros", 0) + 1, int(time.time() * 1e6))
        micros = self._last_micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter:08X}"

    @property
    def state(self) -> _State:
        return self._state

    def record_problems(self, method: str, problems: list[str]) -> None:
        if problems:
            self._state.problems.append((method, problems))

    # -- request handling (server threads) ------------------------------------------------------
    def handle_api(self, method: str, args: dict, token: str) -> tuple[int, dict, dict]:
        """Returns (status, extra headers, JSON body) and records the call."""
        with self._cond:
            delay = self._take_delay(method)
            if delay is not None:
                self._state.waiting[method] = self._state.waiting.get(method, 0) + 1
                self._cond.notify_all()
        try:
            if delay is not None and delay.drop:
                time.sleep(delay.seconds)
                return 503, {}, {"ok": False, "error": "service_unavailable"}
            with self._cond:
                status, headers, body = self._answer(method, args, token)
                self._state.calls.append(Call(method, args, status, body, time.time(), token))
                self._cond.notify_all()
            if delay is not None:
                time.sleep(delay.seconds)
            return status, headers, body
        finally:
            if delay is not None:
                with self._cond:
                    self._state.waiting[method] -= 1

    def _take_delay(self, method: str) -> _Delay | None:
        for delay in self._state.delays:
            if delay.method == method:
                delay.times -= 1
                if delay.times <= 0:
                    self._state.delays.remove(delay)
                return delay
        return None

    def _answer(self, method: str, args: dict, token: str) -> tuple[int, dict, dict]:
        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        try:
            self.oauth.check(self, method, args, token)
        except methods.SlackError as e:
            return 200, {}, e.body()
        failure = self._take_failure(method, args)
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            return failure.status, headers, {"ok": False, "error": failure.error}
        handler = methods.METHODS.get(method)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        try:
            body = handler(self, args, token)
        except methods.SlackError as e:
            body = e.body()
        except Exception:  # a bug in the fake must fail the test, not hang the client
            self.record_problems(method, [f"fakeslack crashed:\n{traceback.format_exc()}"])
            return 500, {}, {"ok": False, "error": "fakeslack_internal_error"}
        return 200, {}, body

    def _take_failure(self, method: str, args: dict) -> _Failure | None:
        now = time.monotonic()
        for failure in list(self._state.failures):
            if failure.until is not None:
                if failure.until <= now:
                    self._state.failures.remove(failure)
                elif failure.method == method:
                    return failure
                continue
            if failure.method == method and (failure.when is None or failure.when(args)):
                failure.times -= 1
                if failure.times <= 0:
                    self._state.failures.remove(failure)
                return failure
        return None

    def handle_response_url(self, target: str, body: dict) -> tuple[int, str]:
        """A POST to a response_url: validated like a message; answers Slack's text bodies."""
        with self._cond:
            problems = validate_message(body)
            self.record_problems("response_url", problems)
            error = message_error(problems)
            uses = self._state.response_url_uses.get(target, 0) + 1
            self._state.response_url_uses[target] = uses
            if uses > RESPONSE_URL_USES:
                error = "used_url"
                self.record_problems("response_url", [f"response_url {target} used {uses} times"])
            status = 200 if error is None else 404 if error == "used_url" else 400
            response = {"ok": True} if error is None else {"ok": False, "error": error}
            call = Call("response_url", body, status, response, time.time(), target=target)
            self._state.calls.append(call)
            self._cond.notify_all()
            return status, error or "ok"

    def share_file(self, name: str, content: bytes, *, user: str = "U1") -> dict:
        """A file a person shared (a modal's file input, say): what Slack puts in the
        submission's ``files``. ``files.info`` describes it; its ``url_private_download``
        serves it to a request with a bot token (``Authorization: Bearer``)."""
        with self._cond:
            file_id = self.new_id("F")
            kind = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
            url = f"{self.base}files-pri/{self.team_id}-{file_id}/download/{quote(name)}"
            self._state.shared[file_id] = {
                "id": file_id,
                "name": name,
                "title": name,
                "filetype": kind,
                "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
                "size": len(content),
                "user": user,
                "url_private": url.replace("/download/", "/"),
                "url_private_download": url,
                "content": content,
            }
            return {k: v for k, v in self._state.shared[file_id].items() if k != "content"}

    def handle_download(self, file_id: str, authorization: str) -> tuple[int, str, bytes]:
        """GET url_private_download: the file for a bot token, Slack's sign-in page (HTML,
        HTTP 200) without one — as Slack answers a request that is not authorised."""
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
        with self._cond:
            shared = self._state.shared.get(file_id)
            allowed = token.startswith("xoxb-")
            if allowed:
                try:
                    self.oauth.check(self, "files.info", {}, token)
                except methods.SlackError:
                    allowed = False
            status = 404 if shared is None else 200
            ok = shared is not None and allowed
            response = {"ok": ok} if ok else {"ok": False, "error": "not_authed"}
            call = Call("files.download", {"file": file_id}, status, response, time.time(), token)
            self._state.calls.append(call)
            self._cond.notify_all()
            if shared is None:
                return 404, "text/plain", b"not found"
            if not allowed:
                return 200, "text/html; charset=utf-8", b"<html>Sign in to Slack</html>"
            return 200, shared["mimetype"], shared["content"]

    def handle_upload(self, file_id: str, content: bytes) -> tuple[int, str]:
        with self._cond:
            upload = self._state.uploads.get(file_id)
            if upload is None:
                return 404, "file_not_found"
            upload["content"] = content
            return 200, f"OK - {len(content)}"
