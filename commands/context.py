"""What every handler receives: the unit of work, who is acting, where, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from domain.clock import Clock, SystemClock
from domain.workspaces import member_locale
from storage.models import Member, Workspace


@dataclass
class Ctx:
    session: Session
    workspace: Workspace
    member: Member
    clock: Clock = field(default_factory=SystemClock)
    channel_id: str | None = None  # where the command was run
    public_url: str | None = None  # the server's address (Settings.public_url)

    @property
    def locale(self) -> str:
        return member_locale(self.member, self.workspace)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.workspace.timezone)

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.now().astimezone(self.tz).date()
