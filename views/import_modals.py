"""``/pipeline import`` in Slack: the file modal, the preview, and the progress message.

The preview fits Slack's modal limits whatever the file: at most :data:`MAX_COLUMNS` column
selects (one input block each; the rest keep the field their header names), the first
:data:`MAX_ERRORS` invalid cells (the count says how many more), every text clipped.
``private_metadata`` carries what the submit needs to plan the file again (bot.listeners.imports).
"""

from __future__ import annotations

import json
from typing import Any

from domain.fields import ENTITIES, fields_for
from i18n import fmt, t
from views import blocks as b
from views.ids import View
from views.imports import error_line, summary
from views.message import Message
from views.modals import MODAL_TITLE, select_input
from views.reports import esc

MAX_COLUMNS = 40  # column selects in the preview (one input block each; a modal has 100)
MAX_ERRORS = 10  # invalid cells listed in the preview
IGNORE = "-"  # the select's value for "ignore this column"
FILETYPES = ["csv", "xlsx"]


def _view(callback_id: str | None, locale: str, blocks: list, *, submit=None, meta=None) -> dict:
    view: dict[str, Any] = {
        "type": "modal",
        "title": b.plain(t(locale, "import.modal_title"), MODAL_TITLE),
        "close": b.plain(t(locale, "import.modal_close"), MODAL_TITLE),
        "blocks": blocks[: b.VIEW_BLOCKS],
    }
    if callback_id:
        view["callback_id"] = callback_id
    if submit:
        view["submit"] = b.plain(submit, MODAL_TITLE)
    if meta is not None:
        view["private_metadata"] = json.dumps(meta, ensure_ascii=False)[:3000]
    return view


def _checkbox(locale: str, checked: bool) -> dict:
    option = {"text": b.plain(t(locale, "import.modal_skip"), b.OPTION_TEXT), "value": "skip"}
    element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": [option]}
    if checked:
        element["initial_options"] = [option]
    return {
        "type": "input",
        "block_id": "skip",
        "optional": True,
        "label": b.plain(t(locale, "import.modal_skip"), 2000),
        "element": element,
    }


def entity_name(entity: str, locale: str) -> str:
    return t(locale, f"import.entity_{entity}")


def upload(locale: str, channel: str | None, error: str | None = None) -> dict:
    """The first modal: the file, what its rows are, and whether to skip invalid rows."""
    blocks: list[dict] = []
    if error:
        blocks.append(b.section(f":warning: {error}"))
    blocks.append(
        {
            "type": "input",
            "block_id": "file",
            "label": b.plain(t(locale, "import.modal_file"), 2000),
            "hint": b.plain(t(locale, "import.modal_file_hint"), 2000),
            "element": {
                "type": "file_input",
                "action_id": "value",
                "filetypes": FILETYPES,
                "max_files": 1,
            },
        }
    )
    options = [b.option(entity_name(e, locale), e) for e in ENTITIES]
    blocks.append(
        select_input("entity", t(locale, "import.modal_entity"), options, initial=options[0])
    )
    blocks.append(_checkbox(locale, False))
    meta = {"channel": channel} if channel else {}
    return _view(
        View.import_file, locale, blocks, submit=t(locale, "import.modal_preview"), meta=meta
    )


def reading(name: str, locale: str) -> dict:
    """While the file is fetched and planned (longer than Slack waits for an answer)."""
    return _view(None, locale, [b.section(t(locale, "import.modal_reading", name=esc(name)))])


def started(name: str, locale: str) -> dict:
    return _view(None, locale, [b.section(t(locale, "import.modal_started", name=esc(name)))])


def preview(prepared, meta: dict, skip_invalid: bool, locale: str) -> dict:
    """The mapping (a select per column) and the dry run; submit imports."""
    blocks: list[dict] = [b.section(summary(prepared, locale))]
    errors = prepared.plan.errors
    if errors:
        lines = [esc(error_line(e, locale)) for e in errors[:MAX_ERRORS]]
        if len(errors) > MAX_ERRORS:
            lines.append(t(locale, "import.more_errors", count=len(errors) - MAX_ERRORS))
        blocks.append(b.section("\n".join(lines)))
        blocks.append(b.context(t(locale, "import.modal_invalid_hint")))
    blocks.append(b.header(t(locale, "import.modal_columns")))
    specs = [s for s in fields_for(prepared.entity) if not s.export_only]
    ignore = b.option(t(locale, "import.modal_ignore"), IGNORE)
    choices = [ignore] + [b.option(f"{s.key} · {s.ko}", s.key) for s in specs]
    headers = prepared.table.headers
    chosen = []
    for index, header in enumerate(headers[:MAX_COLUMNS]):
        spec = prepared.mapping.get(index)
        initial = next((o for o in choices if spec and o["value"] == spec.key), ignore)
        label = header or f"#{index + 1}"
        blocks.append(select_input(f"col{index}", label, choices, initial=initial))
        chosen.append(initial["value"])
    if len(headers) > MAX_COLUMNS:
        blocks.append(b.context(t(locale, "import.modal_more_columns", count=MAX_COLUMNS)))
    blocks.append(_checkbox(locale, skip_invalid))
    meta = {**meta, "map": chosen}
    return _view(
        View.import_confirm, locale, blocks, submit=t(locale, "import.modal_import"), meta=meta
    )


# --- the progress message (the importer's DM, updated through the outbox) ---------------


def progress(options, done: int, total: int | None, locale: str) -> Message:
    name, entity = esc(options.filename), entity_name(options.entity, locale)
    if total is None:
        text = t(locale, "import.progress_start", name=name, entity=entity)
    else:
        text = t(
            locale,
            "import.progress_rows",
            name=name,
            entity=entity,
            done=fmt.number(done, locale),
            total=fmt.number(total, locale),
        )
    return Message(text=text, blocks=[b.section(text)])


def finished(options, run, locale: str) -> Message:
    text = t(
        locale,
        "import.finished",
        name=esc(options.filename),
        entity=entity_name(options.entity, locale),
        created=fmt.number(run.created, locale),
        updated=fmt.number(run.updated, locale),
        skipped=fmt.number(run.skipped, locale),
    )
    return Message(text=text, blocks=[b.section(text)])


def stopped(options, reason: str, locale: str) -> Message:
    text = t(locale, "import.stopped", name=esc(options.filename), reason=reason)
    return Message(text=text, blocks=[b.section(text)])
