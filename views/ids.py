"""Every action_id, callback_id and block_id in one place (dispatch's enums habit)."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    # deal card and notifications; value = "D<deal number>" (bot.payloads reads them)
    deal_stage = "deal.stage"  # static_select in block "deal:D<number>"; option = stage id
    deal_won = "deal.won"
    deal_lost = "deal.lost"
    deal_note = "deal.note"
    deal_snooze = "deal.snooze"  # static_select; option value = "D<number>:<days>"
    deal_show = "deal.show"
    # ambiguous references: value = JSON {"cmd": "/deal", "text": "..."} re-run with the number
    pick = "pick"
    # help buttons: value = "/deal new" etc.
    help_run = "help.run"
    lead_convert = "lead.convert"  # value = "L<lead number>"
    cadence_edit = "cadence.edit"  # a button in the pipeline editor; value = the stage id
    # tasks (issue 14): value = "/task done T3", re-run as typed
    task_run = "task.run"  # action_id "task.run:<what>" (unique within a block)
    task_open = "task.open"  # a link button to the deal's card; nothing to do on click
    task_add = "task.add"  # the card's "Add task": value = "D<deal number>", opens the modal
    # issue 13 (views/closing.py, views/deals.py): confirmations, the renewal offer, paging
    deal_confirm = "deal.confirm"  # value = JSON {"do", "deal", "stage", "reason"}
    deal_cancel = "deal.cancel"  # value = "D<number>"
    deal_renew = "deal.renew"  # value = "D<number>": create its renewal deal
    deal_page = "deal.page"  # value = JSON {"text": the /deal list text, "offset": n}
    # inbound leads (docs/inbound.md): value = the lead's row id; Assign is a users_select
    inbound_claim = "inbound.claim"
    inbound_assign = "inbound.assign"
    inbound_disqualify = "inbound.disqualify"
    inbound_rotate = "inbound.rotate"  # /pipeline inbound's "Rotate secret"
    # issue 16: a member's alert choices on App Home (each saves when it changes)
    alert_batch = "alert.batch"  # static_select: off | hourly | daily
    alert_quiet = "alert.quiet"  # static_select: off | "20:00-08:00"
    alert_mute_pipelines = "alert.mute_pipelines"  # multi_static_select: "p<pipeline id>"
    alert_mute_deals = "alert.mute_deals"  # multi_static_select: "d<deal id>"
    alert_mute_deal = "alert.mute_deal"  # the card's overflow: "mute:D<number>" | "unmute:…"
    # issue 15: the card's BANT button opens the checkboxes; value = "D<number>"
    qualify_open = "qualify.open"
    # custom fields (issue 15): fill the fields a stage requires, edit a field (admins)
    field_fill = "field.fill"  # value = JSON {"deal": number, "stage": stage id}
    field_edit = "field.edit"  # action_id "field.edit:<id>"; value = the field's id


class View(StrEnum):
    deal_new = "deal_new"
    lead_new = "lead_new"
    deal_lost = "deal_lost"
    deal_note = "deal_note"
    pipeline_edit = "pipeline_edit"
    settings = "settings"
    cadence_edit = "cadence_edit"  # private_metadata: {"stage_id": …}
    workflows = "workflows"
    task_new = "task_new"
    import_file = "import_file"  # /pipeline import: the file, the entity, skip invalid rows
    import_confirm = "import_confirm"  # its preview: the mapping per column; submit imports
    alert_routes = "alert_routes"  # issue 16: /pipeline alerts
    qualify = "qualify"  # private_metadata: {"deal": <number>}
    scoring = "scoring"
    field_fill = "field_fill"  # private_metadata: {"deal": number, "stage_id": …}
    field_edit = "field_edit"  # private_metadata: {"field_id": …}
