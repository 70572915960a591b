"""``/pipeline import``'s Slack side: fetch the uploaded file, and run imports off the request.

**The file.** The modal's ``file_input`` gives a file id; :func:`fetch` asks ``files.info``
(scope ``files:read``) and downloads ``url_private_download`` with the bot token in an
``Authorization: Bearer`` header, as Slack requires. The token is only ever sent to Slack's
own file host (``*.slack.com``) or the configured ``SLACK_API_URL``'s host (a Slack-compatible
server in tests and staging). Files over 10 MB are refused before they are downloaded.

**After the ack.** An import of 100,000 rows takes longer than Slack waits for an answer, so
it runs in this process's import pool (:attr:`bot.context.Deps.importer`), recorded first in
the database (commands.import_jobs): a process that dies mid-import leaves a run whose
heartbeat stops, and :func:`resume` — called when a Salesbot process starts serving — takes
it over, downloads the file again and finishes it without duplicates.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from functools import partial
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from commands import import_jobs
from commands.cells import MAX_FILE
from domain.errors import InvalidInput

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = 60.0  # seconds


def fetch(client: WebClient, file_id: str) -> tuple[bytes, str]:
    """The file's bytes and name; :class:`InvalidInput` when Slack will not hand it over."""
    try:
        info = client.files_info(file=file_id)["file"]
    except SlackApiError as exc:
        raise InvalidInput("import.file_unavailable", reason=exc.response.get("error")) from None
    if int(info.get("size") or 0) > MAX_FILE:
        raise InvalidInput("import.too_big", limit="10 MB")
    url = info.get("url_private_download") or info.get("url_private") or ""
    if not _ours(url, client.base_url):
        raise InvalidInput("import.file_unavailable", reason="url")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:
            kind = response.headers.get("Content-Type", "")
            data = response.read(MAX_FILE + 1)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "code", None) or type(exc).__name__
        raise InvalidInput("import.file_unavailable", reason=reason) from None
    if kind.startswith("text/html"):  # Slack's sign-in page: the token could not read it
        raise InvalidInput("import.file_unavailable", reason="files:read")
    if len(data) > MAX_FILE:
        raise InvalidInput("import.too_big", limit="10 MB")
    return data, str(info.get("name") or info.get("title") or "import.csv")


def _ours(url: str, api_url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return urlsplit(url).scheme in ("https", "http") and (
        host == "slack.com" or host.endswith(".slack.com") or host == urlsplit(api_url).hostname
    )


def submit(deps, run_id: int, client: WebClient) -> None:
    """Run the job in the import pool, after the ack."""
    deps.importer.submit(_run, deps, run_id, client)


def _run(deps, run_id: int, client: WebClient) -> None:
    try:
        import_jobs.run(
            deps.engine,
            run_id,
            fetch=partial(fetch, client),
            clock=deps.clock,
            wake=deps.wake,
        )
    except Exception:  # the run stays running: the next process to start resumes it
        log.exception("import run %s stopped; it is resumed when Salesbot starts again", run_id)


def client_for(deps, workspace_id: int) -> WebClient | None:
    """A Web API client with the workspace's bot token (None: it has none any more)."""
    from bot.app import web_client

    client = web_client(deps.settings)
    if deps.tokens is not None:
        client.token = deps.tokens.for_workspace(workspace_id)[1]
    return client if client.token else None


def resume(deps) -> list[int]:
    """Take over the Slack imports a dead process left unfinished (returns their run ids)."""
    claimed = import_jobs.claim_stale(deps.engine, deps.clock.now())
    for run_id, workspace_id in claimed:
        client = client_for(deps, workspace_id)
        if client is None:
            log.warning("import run %s: its workspace has no bot token any more", run_id)
            continue
        log.info("resuming import run %s", run_id)
        submit(deps, run_id, client)
    return [run_id for run_id, _ in claimed]
