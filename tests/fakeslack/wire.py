"""The HTTP side of FakeSlack: routes, and reading a request the way Slack does.

Routes: ``/api/<method>`` (the Web API; form, JSON or multipart body, token in the
``Authorization: Bearer`` header or a ``token`` field), ``/response/<id>`` (response_url),
``/upload/<file_id>`` (files_upload_v2's upload step) and ``/files-pri/<team>-<file>/…``
(a shared file's ``url_private_download``).
"""

from __future__ import annotations

import contextlib
import json
import sys
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Fields Slack accepts as JSON strings in form-encoded requests.
JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata", "outputs")


def parse_args(content_type: str, body: bytes, query: str = "") -> dict:
    """Arguments from the query string and the body; JSON-string fields decoded."""
    args: dict = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        data = json.loads(body or b"{}")
        if isinstance(data, dict):
            args.update(data)
    elif kind == "multipart/form-data":
        args.update(_multipart(content_type, body))
    elif body:
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for key in JSON_FIELDS:
        value = args.get(key)
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            # Invalid JSON stays a string: the Block Kit validator reports it.
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    return args


def _multipart(content_type: str, body: bytes) -> dict:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    args: dict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        args[name] = payload if part.get_filename() else payload.decode("utf-8")
    return args


def token_of(authorization: str, args: dict) -> str:
    """The Bearer token, else the ``token`` argument (removed from args either way)."""
    field = args.pop("token", "") or ""
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    if authorization.lower().startswith("basic "):  # oauth.v2.access: the app's credentials
        return "basic:" + authorization[6:].strip()
    return str(field)


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients hanging up (a test ending mid-request); loud about the rest."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no request log on stderr
        pass

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        fake = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        route, _, rest = parts.path.lstrip("/").partition("/")
        if route == "api" and rest:
            args = parse_args(self.headers.get("Content-Type", ""), raw, parts.query)
            token = token_of(self.headers.get("Authorization", ""), args)
            status, headers, body = fake.handle_api(rest, args, token)
            self._send(status, json.dumps(body), "application/json; charset=utf-8", headers)
        elif route == "response" and rest:
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(400, "invalid_payload", "text/plain")
                return
            status, text = fake.handle_response_url(rest, body)
            self._send(status, text, "text/html")
        elif route == "files-pri" and rest:  # url_private_download: <team>-<file>/download/…
            file_id = rest.split("/")[0].rpartition("-")[2]
            status, kind, data = fake.handle_download(
                file_id, self.headers.get("Authorization", "")
            )
            self._send_bytes(status, data, kind)
        elif route == "upload" and rest:
            status, text = fake.handle_upload(rest, raw)
            self._send(status, text, "text/plain")
        else:
            self._send(404, "not found", "text/plain")

    def _send(self, status: int, text: str, content_type: str, headers: dict | None = None) -> None:
        self._send_bytes(status, text.encode("utf-8"), content_type, headers)

    def _send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict | None = None
    ) -> None:
        self.send_response(HTTPStatus(status))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
