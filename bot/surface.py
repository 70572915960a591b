"""Slack as a surface for deal cards and thread replies (commands.deliver.Surface)."""

from __future__ import annotations

from slack_sdk import WebClient

from views.message import Message


class SlackSurface:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, channel: str, message: Message, thread_ts: str | None = None) -> str:
        kwargs = message.as_kwargs()
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        response = self.client.chat_postMessage(channel=channel, **kwargs)
        return response["ts"]

    def update(self, channel: str, ts: str, message: Message) -> None:
        self.client.chat_update(channel=channel, ts=ts, **message.as_kwargs())

    def dm_channel(self, user_id: str) -> str:
        return self.client.conversations_open(users=user_id)["channel"]["id"]

    def upload(self, channel, thread_ts, filename: str, content: bytes, title: str) -> None:
        kwargs = {"channel": channel, "content": content, "filename": filename, "title": title}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        self.client.files_upload_v2(**kwargs)
