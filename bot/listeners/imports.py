"""``/pipeline import``'s two modal steps (admins only; the modal opens from the command).

1. **The file** (``import_file``): the file input, what the rows are, "skip invalid rows".
   The submit fetches the file from Slack (bot.importer) and plans it — nothing is written —
   and answers with the preview in place of the modal (``response_action: update``). A big
   file takes longer than Slack waits: past ``Deps.ack_budget`` the modal says "reading…"
   and the preview (or the reason the file cannot be imported, on the first step again)
   follows with ``views.update``. A file that cannot be read is answered under the file field.
2. **The preview** (``import_confirm``): a select per column and the dry run. A changed
   mapping plans again and shows the new preview; invalid rows without "skip invalid rows"
   are answered under that box; else the run is recorded with its progress message
   (commands.import_jobs), the modal says where to follow it, and the import runs after
   the ack (bot.importer.submit).
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import Future, TimeoutError
from functools import partial
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot import importer
from bot.listeners.guard import guarded
from bot.listeners.submissions import _values, field_errors
from bot.payloads import _ID, MAX_ID
from commands import import_jobs
from commands.failures import user_message
from commands.forms import FieldErrors
from domain import import_jobs as jobs
from domain.fields import ENTITIES
from domain.workspaces import require_admin
from i18n import t
from views import import_modals
from views.ids import View

log = logging.getLogger(__name__)


class ImportMeta(BaseModel):
    """The preview's ``private_metadata``; anything unreadable reads as empty."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    channel: str | None = Field(default=None, max_length=MAX_ID, pattern=_ID.pattern)
    file: str | None = Field(default=None, max_length=MAX_ID, pattern=_ID.pattern)
    entity: str = Field(default="deals", pattern="^(" + "|".join(ENTITIES) + ")$")
    name: str = Field(default="", max_length=255)
    map: list[Annotated[str, Field(max_length=32)]] = Field(
        default_factory=list, max_length=import_modals.MAX_COLUMNS
    )
    invalid: int = Field(default=0, ge=0)

    @classmethod
    def parse(cls, raw: object) -> ImportMeta:
        try:
            data = json.loads(raw) if isinstance(raw, str) and raw else {}
            return cls.model_validate(data if isinstance(data, dict) else {})
        except (ValueError, ValidationError):
            return cls()


def _element(values: dict, block: str) -> dict:
    """The state of the block's element (action id ``value``); {} for anything else."""
    state = values.get(block)
    element = state.get("value") if isinstance(state, dict) else None
    return element if isinstance(element, dict) else {}


def _selected(values: dict, block: str) -> str | None:
    option = _element(values, block).get("selected_option")
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) else None


def _checked(values: dict) -> bool:
    chosen = _element(values, "skip").get("selected_options")
    chosen = chosen if isinstance(chosen, list) else []
    return any(isinstance(o, dict) and o.get("value") == "skip" for o in chosen)


def _file(values: dict) -> tuple[str | None, str]:
    files = _element(values, "file").get("files")
    first = files[0] if isinstance(files, list) and files and isinstance(files[0], dict) else {}
    file_id = first.get("id")
    valid = isinstance(file_id, str) and _ID.fullmatch(file_id)
    return (file_id if valid else None), str(first.get("name") or "")[:255]


def _admin(deps, context) -> None:
    with deps.acting(context, readonly=True) as ctx:
        require_admin(ctx.member)


def _plan(deps, context, client, meta: ImportMeta, overrides: list[str]):
    """Fetch and plan the file (nothing is written)."""
    data, name = importer.fetch(client, meta.file)
    prepared = import_jobs.dry_run(
        deps.engine,
        workspace_id=context["salesbot_workspace_id"],
        member_id=context["salesbot_member_id"],
        entity=meta.entity,
        data=data,
        filename=name,
        overrides=overrides,
        now=deps.clock.now(),
    )
    return prepared, name


def _preview_view(result, meta: ImportMeta, skip: bool, locale: str) -> dict:
    prepared, name = result
    data = meta.model_dump(exclude_none=True, exclude={"map"})
    data |= {"name": name, "invalid": len(prepared.plan.bad_rows)}
    return import_modals.preview(prepared, data, skip, locale)


def _preview(deps, ack, body, client, context, meta, overrides, skip) -> None:
    """Answer with the preview, in the ack if the file is planned in time, else later."""
    locale = context["salesbot_locale"]
    future = deps.readers.submit(_plan, deps, context, client, meta, overrides)
    try:
        result = future.result(timeout=max(deps.budget_left(context), 0.0))
    except TimeoutError:
        ack(response_action="update", view=import_modals.reading(meta.name, locale))
        view_id = (body.get("view") or {}).get("id")
        future.add_done_callback(partial(_late, client, view_id, meta, skip, locale))
        return
    ack(response_action="update", view=_preview_view(result, meta, skip, locale))


def _late(client, view_id: str, meta: ImportMeta, skip: bool, locale: str, done: Future) -> None:
    """The preview that missed the ack, or the file step again with the reason."""
    try:
        view = _preview_view(done.result(), meta, skip, locale)
    except Exception as exc:  # rendered like every failure: the friendly text, in the modal
        view = import_modals.upload(locale, meta.channel, error=user_message(exc, locale))
    try:
        client.views_update(view_id=view_id, view=view)
    except Exception:
        log.exception("could not show the import preview in view %s", view_id)


def _overrides(chosen: list[str]) -> list[str]:
    """Every shown column as the preview's select says (``#n=`` ignores column n)."""
    return [
        f"#{i + 1}={'' if key == import_modals.IGNORE else key}" for i, key in enumerate(chosen)
    ]


def register(app, deps) -> None:
    @app.view(View.import_file)
    @guarded(deps)
    @field_errors(lambda exc: "file")
    def on_file(ack, body, view, client, context):
        values = _values(view)
        file_id, name = _file(values)
        if file_id is None:
            raise FieldErrors({"file": t(context["salesbot_locale"], "import.file_required")})
        _admin(deps, context)
        entity = _selected(values, "entity")
        meta = ImportMeta.parse(view.get("private_metadata"))
        meta = meta.model_copy(update={"file": file_id, "name": name, "entity": entity or "deals"})
        if meta.entity not in ENTITIES:
            meta = meta.model_copy(update={"entity": "deals"})
        _preview(deps, ack, body, client, context, meta, [], _checked(values))

    @app.view(View.import_confirm)
    @guarded(deps)
    @field_errors(lambda exc: "skip")
    def on_confirm(ack, body, view, client, context):
        locale = context["salesbot_locale"]
        meta = ImportMeta.parse(view.get("private_metadata"))
        values = _values(view)
        skip = _checked(values)
        if meta.file is None:
            raise FieldErrors({"skip": t(locale, "import.file_required")})
        _admin(deps, context)
        chosen = [_selected(values, f"col{i}") or key for i, key in enumerate(meta.map)]
        if chosen != meta.map:  # the mapping changed: plan again, show the new preview
            _preview(deps, ack, body, client, context, meta, _overrides(chosen), skip)
            return
        if meta.invalid and not skip:
            raise FieldErrors({"skip": t(locale, "import.modal_fix_invalid", count=meta.invalid)})
        options = jobs.JobOptions(
            entity=meta.entity,
            filename=meta.name,
            user=str((body.get("user") or {}).get("id") or ""),
            skip_invalid=skip,
            overrides=_overrides(chosen),
            locale=locale,
        )
        with deps.acting(context) as ctx:
            run_id = import_jobs.start(
                ctx.session,
                workspace=ctx.workspace,
                file_id=meta.file,
                options=options,
                actor_id=ctx.member.id,
                locale=ctx.locale,
                now=ctx.now(),
            )
        ack(response_action="update", view=import_modals.started(meta.name, locale))
        deps.wake()
        importer.submit(deps, run_id, client)
