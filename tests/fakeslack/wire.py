"""Reading a Web API request the way Slack does: form, JSON or multipart body; token anywhere."""

from __future__ import annotations

import contextlib
import json
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

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
    return str(field)
