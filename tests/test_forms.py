"""Modal submissions become typed commands; every problem lands under its own field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from commands import forms
from commands.types import Amount, DealNew, LeadNew, StageRef, UserRef
from domain.errors import Ambiguous, InvalidInput, NotFound, SalesbotError
from domain.pipelines import StageSpec
from domain.refs import find_pipeline, stages_of
from storage.models import Pipeline
from tests.factories import workspace
from views.blocks import option
from views.modals import stage_lines

TODAY = date(2026, 11, 2)


# --- Slack's element states, as views.submission sends them ------------------------------


def text(value: str | None) -> dict:
    return {"value": {"type": "plain_text_input", "value": value}}


def select(value: str | None, label: str = "") -> dict:
    option = (
        None if value is None else {"text": {"type": "plain_text", "text": label}, "value": value}
    )
    return {"value": {"type": "static_select", "selected_option": option}}


def user(slack_id: str | None) -> dict:
    return {"value": {"type": "users_select", "selected_user": slack_id}}


def users(*slack_ids: str) -> dict:
    return {"value": {"type": "multi_users_select", "selected_users": list(slack_ids)}}


def channel(channel_id: str | None) -> dict:
    return {"value": {"type": "conversations_select", "selected_conversation": channel_id}}


def timepicker(value: str | None) -> dict:
    return {"value": {"type": "timepicker", "selected_time": value}}


def errors_of(call) -> dict[str, str]:
    with pytest.raises(forms.FieldErrors) as caught:
        call()
    assert all(len(message) <= 2000 for message in caught.value.errors.values())
    return caught.value.errors


# --- new deal --------------------------------------------------------------------------


def deal_values(**fields) -> dict:
    values = {
        "title": text("Acme ERP"),
        "amount": text(None),
        "pipeline": select("1", "New business"),
        "stage": text(None),
        "close": text(None),
        "company": text(None),
        "owner": user(None),
    }
    values.update(fields)
    return values


def test_a_full_new_deal_form_becomes_a_deal_new_command():
    values = deal_values(
        title=text("  Acme ERP  "),
        amount=text("759만원"),
        pipeline=select("7", "Renewals"),
        stage=text("Proposal"),
        close=text("+30d"),
        company=text("Acme"),
        owner=user("U123"),
    )
    assert forms.deal_new(values, locale="en", today=TODAY) == DealNew(
        title="Acme ERP",
        amount=Amount(Decimal(7_590_000), "KRW"),
        stage=StageRef("Proposal"),
        pipeline="Renewals",  # the option's label: the command names pipelines
        close=date(2026, 12, 2),
        owner=UserRef(slack_id="U123"),
        company="Acme",
    )


def test_a_new_deal_with_only_a_title_leaves_the_rest_to_defaults():
    values = deal_values(pipeline=select(None))
    assert forms.deal_new(values, locale="en", today=TODAY) == DealNew(title="Acme ERP")


def test_an_untouched_form_state_is_read_as_empty():
    # Slack omits "value" for inputs nobody typed in.
    values = {"title": {"value": {"type": "plain_text_input"}}}
    errors = errors_of(lambda: forms.deal_new(values, locale="en", today=TODAY))
    assert list(errors) == ["title"]


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_an_empty_title_is_an_error_on_the_title(locale):
    errors = errors_of(
        lambda: forms.deal_new(deal_values(title=text("   ")), locale=locale, today=TODAY)
    )
    assert list(errors) == ["title"]
    assert ("딜 이름" if locale == "ko" else "title") in errors["title"]


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_every_bad_field_of_a_deal_is_reported_at_once(locale):
    values = deal_values(title=text(""), amount=text("lots"), close=text("2026-13-45"))
    errors = errors_of(lambda: forms.deal_new(values, locale=locale, today=TODAY))
    assert set(errors) == {"title", "amount", "close"}
    assert "lots" in errors["amount"]
    assert "2026-13-45" in errors["close"]


def test_a_pipeline_label_clipped_by_slack_still_finds_the_pipeline(session):
    ws = workspace(session)
    long_name = "Enterprise accounts in the Seoul metropolitan area and Gyeonggi province 2027"
    pipeline = Pipeline(workspace_id=ws.id, name=long_name, position=3)
    session.add(pipeline)
    session.flush()
    label = option(long_name, str(pipeline.id))["text"]["text"]
    assert label.endswith("…")
    cmd = forms.deal_new(deal_values(pipeline=select("3", label)), locale="en", today=TODAY)
    found = find_pipeline(session=session, workspace_id=ws.id, name=cmd.pipeline)
    assert found.id == pipeline.id


def test_a_negative_amount_is_refused_on_the_amount():
    errors = errors_of(
        lambda: forms.deal_new(deal_values(amount=text("-5000")), locale="en", today=TODAY)
    )
    assert list(errors) == ["amount"]


def test_a_company_longer_than_the_column_is_refused():
    errors = errors_of(
        lambda: forms.deal_new(deal_values(company=text("x" * 201)), locale="en", today=TODAY)
    )
    assert list(errors) == ["company"]
    assert "200" in errors["company"]


# --- new lead --------------------------------------------------------------------------


def lead_values(**fields) -> dict:
    values = {
        "name": text("Kim Minsu"),
        "company": text(None),
        "email": text(None),
        "source": text(None),
        "size": text(None),
    }
    values.update(fields)
    return values


def test_a_full_lead_form_becomes_a_lead_new_command():
    values = lead_values(
        company=text("Acme"),
        email=text("kim@acme.kr"),
        source=text("webinar"),
        size=text("1,200"),
    )
    assert forms.lead_new(values, locale="ko") == LeadNew(
        name="Kim Minsu", company="Acme", email="kim@acme.kr", source="webinar", size=1200
    )


def test_a_lead_with_only_a_name():
    assert forms.lead_new(lead_values(), locale="en") == LeadNew(name="Kim Minsu")


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_bad_lead_fields_land_on_their_blocks(locale):
    values = lead_values(name=text(""), email=text("kim at acme"), size=text("a lot"))
    errors = errors_of(lambda: forms.lead_new(values, locale=locale))
    assert set(errors) == {"name", "email", "size"}
    assert "kim at acme" in errors["email"]
    assert "a lot" in errors["size"]
    assert ("직원 수" if locale == "ko" else "employees") in errors["size"]


# --- lost reason and note --------------------------------------------------------------


def test_the_lost_reason_is_optional_and_trimmed():
    assert forms.lost_reason({"reason": text("  budget cut ")}) == "budget cut"
    assert forms.lost_reason({"reason": text("")}) is None
    assert forms.lost_reason({"reason": text(None)}) is None
    assert forms.lost_reason({}) is None
    assert len(forms.lost_reason({"reason": text("x" * 900)})) == 500


def test_a_note_keeps_its_lines():
    note = "Called the CFO.\nThey want a pilot first."
    assert forms.note_text({"text": text(note + "\n")}, locale="en") == note


@pytest.mark.parametrize(("locale", "word"), [("en", "note"), ("ko", "메모")])
def test_an_empty_note_is_an_error_on_the_text(locale, word):
    errors = errors_of(lambda: forms.note_text({"text": text("  \n ")}, locale=locale))
    assert list(errors) == ["text"]
    assert word in errors["text"]


# --- the pipeline editor ---------------------------------------------------------------


def pipeline_values(name: str, stages: str) -> dict:
    return {"name": text(name), "stages": text(stages)}


def test_stage_lines_are_read_leniently():
    stages = "\n".join(
        [
            "Contact|10|7|open",
            "  Meeting  |  40 %  | 14d ",
            "Proposal | 60% | - ",
            "",
            "Won | 100 | | won",
            "Lost | 0 | — | LOST",
        ]
    )
    name, specs = forms.pipeline_form(
        pipeline_values("Enterprise", stages), locale="en", existing=[]
    )
    assert name == "Enterprise"
    assert specs == [
        StageSpec("Contact", 10, 7, "open"),
        StageSpec("Meeting", 40, 14, "open"),
        StageSpec("Proposal", 60, None, "open"),
        StageSpec("Won", 100, None, "won"),
        StageSpec("Lost", 0, None, "lost"),
    ]


def test_korean_outcomes_are_understood():
    _, specs = forms.pipeline_form(
        pipeline_values(
            "국내 영업", "제안 | 60 | 14일 | 진행\n계약 | 100 | - | 성사\n실패 | 0 | - | 실패"
        ),
        locale="ko",
        existing=[],
    )
    assert [(s.name, s.stall_days, s.outcome) for s in specs] == [
        ("제안", 14, "open"),
        ("계약", None, "won"),
        ("실패", None, "lost"),
    ]


def test_existing_stages_keep_their_ids_by_name_in_any_case(session):
    ws = workspace(session)
    pipeline = find_pipeline(session=session, workspace_id=ws.id, name="New business")
    existing = stages_of(session=session, pipeline_id=pipeline.id)
    ids = {s.name: s.id for s in existing}
    stages = "proposal | 65 | 10 | open\nDemo | 50 | 7\nWON | 100 | - | won\nLost | 0 | - | lost"
    _, specs = forms.pipeline_form(
        pipeline_values("New business", stages), locale="en", existing=existing
    )
    assert [(s.name, s.id) for s in specs] == [
        ("proposal", ids["Proposal"]),
        ("Demo", None),
        ("WON", ids["Won"]),
        ("Lost", ids["Lost"]),
    ]


def test_the_editor_text_of_the_default_pipeline_reads_back_unchanged(session):
    ws = workspace(session)
    pipeline = find_pipeline(session=session, workspace_id=ws.id, name="New business")
    existing = stages_of(session=session, pipeline_id=pipeline.id)
    _, specs = forms.pipeline_form(
        pipeline_values("New business", stage_lines(existing)), locale="en", existing=existing
    )
    assert specs == [
        StageSpec(s.name, s.probability, s.stall_days, str(s.outcome), s.id) for s in existing
    ]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("Proposal", "probability"),
        ("Proposal | sixty", "sixty"),
        ("Proposal | 160", "160"),
        ("Proposal | 60 | two weeks", "two weeks"),
        ("Proposal | 60 | 400", "400"),
        ("Proposal | 60 | 14 | maybe", "maybe"),
        ("Proposal | 60 | 14 | open | extra", "four parts"),
        (" | 60 | 14 | open", "stage name"),
    ],
)
def test_a_bad_stage_line_names_its_line_number_and_what_to_write(line, says):
    stages = f"Contact | 10 | 7 | open\n{line}\nWon | 100 | - | won\nLost | 0 | - | lost"
    errors = errors_of(
        lambda: forms.pipeline_form(pipeline_values("Sales", stages), locale="en", existing=[])
    )
    assert list(errors) == ["stages"]
    assert errors["stages"].startswith("Line 2:")
    assert says in errors["stages"]


def test_bad_stage_lines_are_reported_together_in_korean():
    stages = "Contact | 열 | 7\nWon | 100 | - | 이김\nLost | 0 | - | lost"
    errors = errors_of(
        lambda: forms.pipeline_form(pipeline_values("Sales", stages), locale="ko", existing=[])
    )
    lines = errors["stages"].splitlines()
    assert lines[0].startswith("1번째 줄:") and "열" in lines[0]
    assert lines[1].startswith("2번째 줄:") and "이김" in lines[1]


def test_many_bad_lines_are_summarised_within_slack_limits():
    stages = "\n".join(f"Stage {i} | {'x' * 300}" for i in range(40))
    errors = errors_of(
        lambda: forms.pipeline_form(pipeline_values("Sales", stages), locale="en", existing=[])
    )
    assert len(errors["stages"]) <= 2000
    assert "35 more" in errors["stages"]


@pytest.mark.parametrize(
    ("name", "stages", "block", "says"),
    [
        ("", "A | 10\nB | 100 | - | won\nC | 0 | - | lost", "name", "name"),
        ("N" * 101, "A | 10\nB | 100 | - | won\nC | 0 | - | lost", "name", "100"),
        ("Sales", "", "stages", "one stage a line"),
        ("Sales", "A | 10\nB | 100 | - | won", "stages", "lost"),
        ("Sales", "A | 10\nB | 0 | - | lost", "stages", "won"),
        ("Sales", "A | 100 | - | won\nB | 0 | - | lost", "stages", "open"),
        ("Sales", "A | 10\na | 20\nB | 100 | - | won\nC | 0 | - | lost", "stages", "unique"),
        ("Sales", "\n".join(f"S{i} | 10" for i in range(31)), "stages", "30"),
    ],
)
def test_whole_pipeline_rules_land_on_name_or_stages(name, stages, block, says):
    errors = errors_of(
        lambda: forms.pipeline_form(pipeline_values(name, stages), locale="en", existing=[])
    )
    assert list(errors) == [block]
    assert says in errors[block]


def test_pipeline_rules_are_explained_in_korean():
    errors = errors_of(
        lambda: forms.pipeline_form(pipeline_values("", "A | 10"), locale="ko", existing=[])
    )
    assert errors == {"name": "파이프라인 이름을 입력하세요."}
    errors = errors_of(
        lambda: forms.pipeline_form(
            pipeline_values("영업", "A | 10\nB | 100 | - | won"), locale="ko", existing=[]
        )
    )
    assert "실패(lost)" in errors["stages"]


# --- settings --------------------------------------------------------------------------


def settings_values(**fields) -> dict:
    values = {
        "deals_channel": channel("C1"),
        "digest_channel": channel(None),
        "digest_time": timepicker("08:30"),
        "timezone": text("Asia/Seoul"),
        "locale": select("ko", "한국어"),
        "currency": select("KRW", "KRW"),
        "stall_clock": select("business", "Business days"),
        "managers": users("U2", "U3"),
        "admins": users("U1"),
    }
    values.update(fields)
    return values


def test_the_settings_form_becomes_a_settings_form():
    assert forms.settings_form(settings_values(), locale="en") == forms.SettingsForm(
        deals_channel="C1",
        digest_channel=None,
        digest_time="08:30",
        timezone="Asia/Seoul",
        locale="ko",
        currency="KRW",
        business_days=True,
        managers=["U2", "U3"],
        admins=["U1"],
    )


def test_settings_accept_a_timezone_in_any_case_and_calendar_days():
    form = forms.settings_form(
        settings_values(
            timezone=text(" america/new_york "),
            stall_clock=select("calendar", "Calendar days"),
            managers=users(),
        ),
        locale="en",
    )
    assert form.timezone == "America/New_York"
    assert form.business_days is False
    assert form.managers == []


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_bad_settings_land_on_their_blocks(locale):
    values = settings_values(
        timezone=text("Mars/Olympus_Mons"),
        digest_time=timepicker(None),
        currency=select("WON!", "WON!"),
        locale=select("fr", "Français"),
    )
    errors = errors_of(lambda: forms.settings_form(values, locale=locale))
    assert set(errors) == {"timezone", "digest_time", "currency", "locale"}
    assert "Mars/Olympus_Mons" in errors["timezone"]
    assert ("시간대" if locale == "ko" else "timezone") in errors["timezone"]


@pytest.mark.parametrize("zone", ["", "../etc/passwd", "Asia", "UTC+9", "localtime"])
def test_only_real_iana_zones_pass(zone):
    errors = errors_of(
        lambda: forms.settings_form(settings_values(timezone=text(zone)), locale="en")
    )
    assert list(errors) == ["timezone"]


# --- domain errors back onto the modal -------------------------------------------------


@pytest.mark.parametrize(
    ("error", "block"),
    [
        (NotFound("pipeline.stage_not_found", text="x", stages="A"), "stage"),
        (Ambiguous("pipeline.stage_ambiguous", text="x", stages="A", candidates=[]), "stage"),
        (NotFound("pipeline.not_found", text="x", names="A"), "pipeline"),
        (InvalidInput("deal.title_required"), "title"),
        (InvalidInput("deal.title_too_long", limit=200), "title"),
        (InvalidInput("deal.bad_amount", value="1"), "amount"),
        (InvalidInput("grammar.bad_amount", value="1"), "amount"),
        (InvalidInput("grammar.amount_too_large", value="1"), "amount"),
        (NotFound("member.not_found_name", name="kim"), "owner"),
        (InvalidInput("grammar.bad_date", value="x"), "close"),
        (InvalidInput("lead.name_required"), "name"),
        (InvalidInput("lead.bad_size", value="-1"), "size"),
        (InvalidInput("grammar.bad_number", key="size", value="x"), "size"),
        (InvalidInput("grammar.bad_email", value="x"), "email"),
        (InvalidInput("form.bad_timezone", value="x"), "timezone"),
        (SalesbotError("error.generic", error_id="1"), None),
        (InvalidInput("deal.nothing_to_set"), None),
    ],
)
def test_field_for_puts_domain_errors_on_their_block(error, block):
    assert forms.field_for(error) == block
