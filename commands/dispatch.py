"""One entry point for a slash command, shared by the Slack app and the console."""

from __future__ import annotations

from commands import types as c
from commands.context import Ctx
from commands.grammar import parse
from commands.handlers import run
from commands.outcome import Outcome
from domain.errors import Ambiguous
from i18n import t
from storage.models import Deal
from views import blocks as b
from views.ids import Action
from views.message import Message

READ_ONLY = (
    c.Help,
    c.DealShow,
    c.DealList,
    c.DealFind,
    c.LeadList,
    c.LeadShow,
    c.PipelineBoard,
    c.PipelineForecast,
    c.PipelineMetrics,
    c.PipelinePlan,
    c.PipelineNew,
    c.PipelineEdit,
    c.PipelineSettings,
    c.PipelineCadence,
    c.PipelineWorkflows,
    c.PipelineImport,
    c.TaskList,
    c.TaskShow,
    c.CompanyShow,
    c.CompanyFind,
    c.PersonShow,
    c.PipelineScoring,
)


def reads_only(cmd: object) -> bool:
    """Commands that only read (and ``new`` without arguments, which opens a modal)."""
    from commands.alert_grammar import PipelineAlerts

    if isinstance(cmd, PipelineAlerts):  # the routes modal (issue 16)
        return True
    if isinstance(cmd, c.DealNew | c.LeadNew | c.TaskNew):
        return cmd == type(cmd)(None)
    if isinstance(cmd, c.DealQualify):  # no criterion: the checkboxes open (issue 15)
        return not cmd.tick and not cmd.untick
    if isinstance(cmd, c.PipelineSettings):
        return not cmd.changes and cmd.rate is None  # ``rate:USD=1380`` writes a rate
    return isinstance(cmd, READ_ONLY)


def execute(ctx: Ctx, command: str, text: str) -> Outcome:
    """Parse, run, render (see :func:`run_command`)."""
    return run_command(ctx, parse(command, text, today=ctx.today()), command, text)


def run_command(ctx: Ctx, cmd: object, command: str, text: str) -> Outcome:
    """Run a parsed command. Domain errors propagate to the adapter's one error path,
    except an ambiguous deal reference, which answers with the candidates as buttons."""
    try:
        return run(cmd, ctx)
    except Ambiguous as err:
        deals = [d for d in err.candidates if isinstance(d, Deal)]
        if not deals or not err.params.get("text"):
            raise
        return Outcome(reply=candidates(ctx, command, text, err, deals))


def candidates(ctx: Ctx, command: str, text: str, err: Ambiguous, deals: list[Deal]) -> Message:
    message = err.render(ctx.locale)
    typed = str(err.params["text"])
    buttons = []
    for i, deal in enumerate(deals[:10]):
        rerun = f"{command} {_replace_ref(text, typed, f'D{deal.number}')}"
        buttons.append(b.button(f"D{deal.number} · {deal.title}", f"{Action.pick}:{i}", rerun))
    hint = t(ctx.locale, "deal.pick_hint")
    return Message(text=message, blocks=[b.section(message), b.actions(buttons), b.context(hint)])


def _replace_ref(text: str, typed: str, replacement: str) -> str:
    for form in (f'"{typed}"', f"“{typed}”", typed):
        if form in text:
            return text.replace(form, replacement, 1)
    return text
