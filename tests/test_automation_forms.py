"""The cadence and workflow editors' text, read the same in English and Korean."""

from __future__ import annotations

import pytest

from commands import automation_forms as af
from commands.forms import FieldErrors
from domain.cadences import StepSpec
from domain.errors import InvalidInput


def state(**fields) -> dict:
    values = {}
    for block, value in fields.items():
        if isinstance(value, dict):
            values[block] = {"value": value}
        else:
            values[block] = {"value": {"type": "plain_text_input", "value": value}}
    return values


def test_cadence_lines_in_english_and_korean():
    values = state(
        name="Playbook",
        steps="1 | call | Discovery call\n2d | 이메일 | 후속 이메일\n\nday 4 | 통화 | 두 번째 통화\n7일 | todo | Deck",
    )
    name, active, steps = af.cadence_form(values, locale="en")
    assert (name, active) == ("Playbook", True)
    assert steps == [
        StepSpec(1, "call", "Discovery call"),
        StepSpec(2, "email", "후속 이메일"),
        StepSpec(4, "call", "두 번째 통화"),
        StepSpec(7, "todo", "Deck"),
    ]


def test_cadence_switched_off():
    values = state(name="P", steps="1 | call | x")
    values["active"] = {"value": {"selected_option": {"value": "off"}}}
    assert af.cadence_form(values, locale="en")[1] is False


def test_a_bad_cadence_line_is_named_under_the_steps_in_the_users_language():
    with pytest.raises(FieldErrors) as err:
        af.cadence_form(state(name="P", steps="1 | call | ok\nsoon | call | x"), locale="ko")
    assert err.value.errors == {
        "steps": "2번째 줄: 일차를 읽을 수 없습니다: “soon”. 단계에 들어온 날로부터 며칠 뒤인지 "
        "`1`, `4일`처럼 정수로 입력해 주세요."
    }


def test_steps_without_a_name_are_refused():
    with pytest.raises(FieldErrors) as err:
        af.cadence_form(state(steps="1 | call | x"), locale="en")
    assert err.value.errors == {"name": "A cadence needs a name."}


def test_conditions():
    assert af.parse_conditions(
        'pipeline:"New business" amount>=1000만 size>=300 size<=5000 source:web owner:@lee '
        "text:“big one” 단계:Contact"
    ) == {
        "pipeline": "New business",
        "amount_min": "10000000",
        "size_min": 300,
        "size_max": 5000,
        "source": "web",
        "owner": {"name": "lee"},
        "text": "big one",
        "stage": "Contact",
    }


@pytest.mark.parametrize("text", ["amount:5", "size>=many", "colour:red", "nonsense"])
def test_conditions_that_cannot_be_read(text):
    with pytest.raises(InvalidInput):
        af.parse_conditions(text)


@pytest.mark.parametrize(
    ("line", "action"),
    [
        (
            "task 1 call First call",
            {"do": "task", "text": "First call", "kind": "call", "days": 1},
        ),
        (
            "할일 2일 이메일 “견적서 보내기” <@U7>",
            {
                "do": "task",
                "text": "견적서 보내기",
                "kind": "email",
                "days": 2,
                "member": {"slack_id": "U7"},
            },
        ),
        ("task Prepare", {"do": "task", "text": "Prepare", "kind": "todo", "days": 0}),
        ("cadence Playbook", {"do": "cadence", "cadence": "Playbook"}),
        ("전환", {"do": "convert"}),
        ("owner @a @b", {"do": "owner", "members": [{"name": "a"}, {"name": "b"}]}),
        ("renewal 12", {"do": "renewal", "months": 12}),
        ("갱신 24개월", {"do": "renewal", "months": 24}),
        ("renewal", {"do": "renewal", "months": 12}),
    ],
)
def test_actions(line, action):
    assert af.parse_action(line) == action


def test_post_and_owner_take_the_modal_fields():
    assert af.parse_action("post Big lead!", channel="C9") == {
        "do": "post",
        "channel": "C9",
        "text": "Big lead!",
    }
    assert af.parse_action("담당자", members=[{"slack_id": "U2"}]) == {
        "do": "owner",
        "members": [{"slack_id": "U2"}],
    }
    with pytest.raises(InvalidInput) as err:
        af.parse_action("post Big lead!")
    assert err.value.key == "workflow.post_needs_channel"


def test_a_workflow_without_an_action_is_refused_in_korean():
    values = state(conditions="size>=300")
    values["trigger"] = {"value": {"selected_option": {"value": "lead_created"}}}
    with pytest.raises(FieldErrors) as err:
        af.workflow_form(values, locale="ko")
    assert err.value.errors == {
        "actions": "워크플로우에는 동작이 하나 이상 있어야 합니다. 예: `할일 1 통화 첫 통화`"
    }


def test_an_empty_add_part_is_no_workflow():
    assert af.workflow_form(state(), locale="en") is None
