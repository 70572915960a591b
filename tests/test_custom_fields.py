"""Custom fields (issue 15, point 1), on SQLite and PostgreSQL: admins define them, values are
set with the ``key:value`` grammar and checked by type (a mistake names the field and changes
nothing), a stage can require them (the move is refused with the missing fields and a button
to fill them), ``/deal list`` filters on them in SQL, and exports and imports carry them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import func, select

from commands import types as c
from commands.cells import read_table, write_table
from commands.context import Ctx
from commands.dispatch import execute
from commands.exporting import export_rows
from commands.grammar import parse
from commands.handlers import run as run_command
from commands.importing import execute as run_import
from commands.importing import prepare
from domain import custom_fields as cf
from domain.clock import FixedClock
from domain.errors import Conflict, InvalidInput, NotAllowed, SalesbotError
from storage.models import CustomValue, Deal, Role, Stage
from tests import factories as f
from tests.fakeslack.blockkit import validate_message
from views.text import render

TODAY = date(2026, 11, 2)


@pytest.fixture
def team(session):
    ws = f.workspace(session, locale="en")
    admin = f.member(session, ws, "UADMIN", Role.admin, name="park")
    rep = f.member(session, ws, "UREP", name="lee")
    session.commit()
    return ws, admin, rep


def run(session, ws, member, command: str, text: str):
    member.locale = "en"
    ctx = Ctx(session=session, workspace=ws, member=member, clock=FixedClock(f.T0))
    outcome = execute(ctx, command, text)
    session.flush()
    if outcome.reply is not None:
        message = outcome.reply
        assert validate_message({"text": message.text, "blocks": message.blocks}) == []
    return outcome


def said(outcome) -> str:
    return render(outcome.reply).replace("*", "")


def said_post(outcome, index: int = 0) -> str:
    return render(outcome.posts[index].message).replace("*", "")


def define_three(session, ws, admin):
    run(session, ws, admin, "pipeline", 'field new "Budget" type:money')
    run(session, ws, admin, "pipeline", 'field new "Decision maker" type:member for:deal')
    run(session, ws, admin, "pipeline", 'field new "Industry" type:select options:제조,IT,금융')


def stored(session, deal_id) -> int:
    query = select(func.count()).select_from(CustomValue).where(CustomValue.record_id == deal_id)
    return session.exec(query).one()


# --- grammar ---------------------------------------------------------------------------------


def test_the_admin_commands_parse_in_both_languages():
    cmd = parse("pipeline", 'field new "Industry" type:select options:제조,IT,금융', today=TODAY)
    assert (cmd.name, cmd.kind, cmd.entity, cmd.options) == (
        "Industry",
        "select",
        "deals",
        ("제조", "IT", "금융"),
    )
    cmd = parse("pipeline", '필드 추가 "결정권자" 유형:멤버 대상:리드 키:decider', today=TODAY)
    assert (cmd.name, cmd.kind, cmd.entity, cmd.key) == ("결정권자", "member", "leads", "decider")
    assert parse("pipeline", "fields for:company", today=TODAY).entity == "companies"


def test_values_and_filters_are_kept_as_written_for_the_field_to_read():
    cmd = parse("deal", "set 42 budget:1억 5천만 amount:5000", today=TODAY)
    assert cmd.amount.value == Decimal(5000) and cmd.custom == (("budget", "1억 5천만"),)
    cmd = parse("deal", "list mine budget>=1억 5천만 industry:제조 stalled", today=TODAY)
    assert cmd.mine and cmd.stalled
    assert cmd.custom == (("industry", ":", "제조"), ("budget", ">=", "1억 5천만"))
    assert parse("deal", "list budget:<=5000만원", today=TODAY).custom == (
        ("budget", "<=", "5000만원"),
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('field new "Budget"', "field.missing_type"),
        ('field new "Budget" type:colour', "field.bad_type"),
        ('field new "Budget" type:money for:planet', "field.bad_entity"),
        ("field Budget", "field.usage_new"),
        ("field new type:money", "field.missing_name"),
    ],
)
def test_admin_command_mistakes_say_how_to_write_it(text, key):
    with pytest.raises(InvalidInput) as caught:
        parse("pipeline", text, today=TODAY)
    assert caught.value.key == key
    assert caught.value.render("en") and caught.value.render("ko")


def test_a_built_in_key_mistyped_is_still_an_unknown_key():
    with pytest.raises(InvalidInput) as caught:
        parse("deal", "set 42 stage:Won", today=TODAY)
    assert caught.value.key == "grammar.unknown_key"


# --- definitions -----------------------------------------------------------------------------


def test_admins_define_fields_and_reps_are_refused_politely(session, team):
    ws, admin, rep = team
    out = run(session, ws, admin, "pipeline", 'field new "Budget" type:money')
    assert said(out) == (
        "Added the field Budget. Set it with `/deal set 42 budget:50,000,000` "
        "and filter with `/deal list budget:50,000,000`."
    )
    with pytest.raises(NotAllowed) as refused:
        run(session, ws, rep, "pipeline", 'field new "Region" type:text')
    assert refused.value.key == "workspace.admin_only"
    with pytest.raises(Conflict):
        run(session, ws, admin, "pipeline", 'field new "budget" type:number')
    with pytest.raises(InvalidInput) as reserved:
        run(session, ws, admin, "pipeline", 'field new "Amount" type:number')
    assert reserved.value.key == "field.bad_key"
    with pytest.raises(InvalidInput) as no_options:
        run(session, ws, admin, "pipeline", 'field new "Tier" type:select')
    assert no_options.value.key == "field.needs_options"
    keys = [x.key for x in cf.fields(session=session, workspace_id=ws.id, entity="deals")]
    assert keys == ["budget"]


def test_the_list_shows_every_field_and_admins_get_edit_buttons(session, team):
    ws, admin, rep = team
    define_three(session, ws, admin)
    run(session, ws, admin, "pipeline", 'field new "Region" type:text for:company')
    listed = run(session, ws, rep, "pipeline", "fields")
    text = said(listed)
    assert "Budget · `budget` · money" in text
    assert "Industry · `industry` · select · 제조, IT, 금융" in text
    assert "Region · `region` · text" in text and "Companies" in text
    assert not [b for b in listed.reply.blocks if b.get("accessory")]
    as_admin = run(session, ws, admin, "pipeline", "fields")
    assert len([b for b in as_admin.reply.blocks if b.get("accessory")]) == 4


def test_a_field_edited_in_the_modal_is_renamed_required_and_archived(session, team):
    from commands.handlers import fields as handlers

    ws, admin, rep = team
    define_three(session, ws, admin)
    budget = cf.find(session=session, workspace_id=ws.id, entity="deals", key="budget")
    proposal = session.exec(
        select(Stage).where(Stage.workspace_id == ws.id, Stage.name == "Proposal")
    ).first()
    ctx = Ctx(session=session, workspace=ws, member=admin, clock=FixedClock(f.T0))
    view = handlers.edit_modal(ctx, budget.id)
    assert validate_message({"text": "x", "blocks": view["blocks"]}) == []
    handlers.save_edit(
        ctx, budget.id, {"name": "Budget (KRW)", "required": proposal.id, "archived": False}
    )
    assert (budget.name, budget.required_stage_id) == ("Budget (KRW)", proposal.id)
    handlers.save_edit(ctx, budget.id, {"archived": True})
    assert [x.key for x in cf.fields(session=session, workspace_id=ws.id, entity="deals")] == [
        "decision_maker",
        "industry",
    ]
    rep_ctx = Ctx(session=session, workspace=ws, member=rep, clock=FixedClock(f.T0))
    with pytest.raises(NotAllowed):
        handlers.edit_modal(rep_ctx, budget.id)


# --- values ------------------------------------------------------------------------------


def test_values_are_set_read_by_type_and_shown_on_the_card_and_in_show(session, team):
    ws, admin, rep = team
    define_three(session, ws, admin)
    run(session, ws, admin, "pipeline", 'field new "Tags" type:multiselect options:a,b,c')
    run(session, ws, admin, "pipeline", 'field new "Signed by" type:date')
    run(session, ws, admin, "pipeline", 'field new "Site" type:url')
    deal = f.deal(session, ws, rep)
    out = run(
        session, ws, rep, "deal",
        "set 1 budget:5000만원 decision_maker:@park industry:it tags:c,a signed_by:2026-12-31 "
        "site:https://acme.example.com",
    )  # fmt: skip
    assert said(out).startswith("@UREP updated D1: Budget — → ₩50,000,000; ")
    assert "Industry — → IT" in said(out) and "Tags — → a, c" in said(out)
    kinds = [p.kind for p in out.posts]
    assert kinds == ["card_update", "thread"]
    card = said_post(out)
    for shown in ("Budget\n₩50,000,000", "Decision maker\n@UADMIN", "Industry\nIT", "Tags\na, c"):
        assert shown in card
    assert "Signed by\nDec 31, 2026" in card or "Signed by\n2026" in card
    show = said(run(session, ws, rep, "deal", "show 1"))
    assert "Budget\n₩50,000,000" in show
    assert stored(session, deal.id) == 7  # two tags: two rows


def test_built_in_and_custom_values_in_one_command(session, team):
    ws, admin, rep = team
    define_three(session, ws, admin)
    f.deal(session, ws, rep)
    out = run(session, ws, rep, "deal", "set 1 amount:9000000 industry:금융")
    text = said(out)
    assert "₩7,590,000 → ₩9,000,000" in text and "Industry — → 금융" in text
    assert "Industry\n금융" in said_post(out)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("set 1 budget:lots", "field.bad.money"),
        ("set 1 industry:mining", "field.bad_option"),
        ("set 1 decision_maker:@nobody", "member.not_found_name"),
        ("set 1 colour:red", "field.unknown_key"),
        ("set 1 industry:IT budget:lots", "field.bad.money"),
    ],
)
def test_bad_values_name_the_field_and_change_nothing(session, team, text, key):
    ws, admin, rep = team
    define_three(session, ws, admin)
    deal = f.deal(session, ws, rep)
    version = deal.version
    with pytest.raises(SalesbotError) as caught:
        run(session, ws, rep, "deal", text)
    assert caught.value.key == key
    if key.startswith("field.bad"):
        message = caught.value.render("en")
        assert "Budget" in message or "Industry" in message
        assert caught.value.render("ko")
    assert stored(session, deal.id) == 0 and deal.version == version


def test_a_rep_sets_only_their_own_deals_values(session, team):
    ws, admin, rep = team
    define_three(session, ws, admin)
    f.deal(session, ws, admin)
    with pytest.raises(NotAllowed):
        run(session, ws, rep, "deal", "set 1 industry:IT")


def test_a_value_cleared_with_a_dash(session, team):
    ws, admin, rep = team
    define_three(session, ws, admin)
    deal = f.deal(session, ws, rep)
    run(session, ws, rep, "deal", "set 1 industry:IT")
    out = run(session, ws, rep, "deal", "set 1 industry:-")
    assert "Industry IT → —" in said(out)
    assert stored(session, deal.id) == 0
    with pytest.raises(InvalidInput) as same:
        run(session, ws, rep, "deal", "set 1 industry:-")
    assert same.value.key == "deal.unchanged"


# --- required from a stage ---------------------------------------------------------------


def test_a_move_into_a_stage_that_requires_fields_is_refused_with_a_button_to_fill_them(
    session, team
):
    from commands.handlers import fields as handlers

    ws, admin, rep = team
    run(session, ws, admin, "pipeline", 'field new "Budget" type:money required:Proposal')
    run(
        session,
        ws,
        admin,
        "pipeline",
        'field new "Industry" type:select options:IT,금융 required:Negotiation',
    )
    deal = f.deal(session, ws, rep)
    start = deal.stage_id
    run(session, ws, rep, "deal", "move 1 Meeting")  # before Proposal: nothing required
    refused = run(session, ws, rep, "deal", "move 1 Negotiation")
    assert said(refused) == (
        "D1 can't move to Negotiation yet: fill in Budget, Industry first.\n[Fill in the fields]"
    )
    (button,) = [e for b in refused.reply.blocks if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == "field.fill" and refused.posts == ()
    session.refresh(deal)
    assert deal.stage_id != start and session.get(Stage, deal.stage_id).name == "Meeting"
    ctx = Ctx(session=session, workspace=ws, member=rep, clock=FixedClock(f.T0))
    won = run_command(c.DealWon(c.DealRef(number=1), confirmed=True), ctx)  # the Confirm button
    assert won.replace and "fill in Budget, Industry first" in won.reply.text
    lost = run_command(c.DealLost(c.DealRef(number=1), "budget", confirmed=True), ctx)
    assert lost.reply.text.startswith("<@UREP> marked D1 as lost")  # losing needs nothing
    run(session, ws, rep, "deal", "reopen 1 Meeting")

    ctx = Ctx(session=session, workspace=ws, member=rep, clock=FixedClock(f.T0))
    negotiation = session.exec(
        select(Stage).where(Stage.workspace_id == ws.id, Stage.name == "Negotiation")
    ).one()
    modal = handlers.fill_modal(ctx, 1, negotiation.id)
    blocks = [b["block_id"] for b in modal["blocks"] if b["type"] == "input"]
    assert len(blocks) == 2
    budget, industry = blocks
    from commands.forms import FieldErrors

    with pytest.raises(FieldErrors) as bad:
        handlers.fill_and_move(
            ctx, 1, negotiation.id, {int(budget[1:]): "lots", int(industry[1:]): "IT"}
        )
    assert list(bad.value.errors) == [budget]
    moved = handlers.fill_and_move(
        ctx, 1, negotiation.id, {int(budget[1:]): "1억", int(industry[1:]): "IT"}
    )
    session.refresh(deal)
    assert deal.stage_id == negotiation.id
    assert "Budget\n₩100,000,000" in said_post(moved)


# --- filters -----------------------------------------------------------------------------


def test_list_filters_on_custom_fields_in_sql(session, team):
    ws, admin, rep = team
    define_three(session, ws, admin)
    run(session, ws, admin, "pipeline", 'field new "Tags" type:multiselect options:a,b')
    run(session, ws, admin, "pipeline", 'field new "Kickoff" type:date')
    plan = [
        ("Big IT", "2억", "IT", "a,b", "2026-12-01"),
        ("Big factory", "1억", "제조", "a", "2027-01-10"),
        ("Small IT", "3000만원", "IT", "b", "2026-11-20"),
        ("Dollar IT", "$200,000", "IT", "a", "2026-11-21"),
        ("Nothing set", None, None, None, None),
    ]
    for number, (title, budget, industry, tags, kickoff) in enumerate(plan, start=1):
        f.deal(session, ws, rep, title=title)
        if budget:
            run(
                session,
                ws,
                rep,
                "deal",
                f"set {number} budget:{budget} industry:{industry} tags:{tags} kickoff:{kickoff}",
            )

    def listed(text: str) -> list[str]:
        out = run(session, ws, rep, "deal", f"list {text}")
        return sorted(t for t, *_ in plan if f"{t}" in render(out.reply))

    assert listed("budget>=1억") == ["Big IT", "Big factory"]
    assert listed("budget>=1억 industry:IT") == ["Big IT"]
    assert listed("industry:it") == ["Big IT", "Dollar IT", "Small IT"]
    assert listed("budget<1억") == ["Small IT"]
    assert listed("budget>=$100,000") == ["Dollar IT"]
    assert listed("tags:b") == ["Big IT", "Small IT"]
    assert listed("kickoff>2026-11-30") == ["Big IT", "Big factory"]
    assert listed("kickoff<=2026-11-21 industry:IT") == ["Dollar IT", "Small IT"]
    with pytest.raises(InvalidInput) as compare:
        run(session, ws, rep, "deal", "list industry>=IT")
    assert compare.value.key == "field.no_compare"
    with pytest.raises(InvalidInput) as bad:
        run(session, ws, rep, "deal", "list budget>=lots")
    assert bad.value.key == "field.bad.money"
    page = run(session, ws, rep, "deal", "list budget>=1억 industry:IT")
    assert "budget>=1억" in render(page.reply)


# --- export and import ---------------------------------------------------------------------


def test_custom_fields_round_trip_through_export_and_import(engine, session, team):
    ws, admin, rep = team
    define_three(session, ws, admin)
    run(session, ws, admin, "pipeline", 'field new "Kickoff" type:date')
    run(session, ws, admin, "pipeline", 'field new "Tags" type:multiselect options:a,b')
    run(session, ws, admin, "pipeline", 'field new "Signed" type:checkbox')
    f.deal(session, ws, rep, title="One")
    f.deal(session, ws, rep, title="Two")
    run(
        session,
        ws,
        rep,
        "deal",
        "set 1 budget:1억 2천만 decision_maker:@park industry:IT kickoff:2026-12-01 tags:a,b signed:yes",
    )
    run(session, ws, rep, "deal", "set 2 budget:$12,000.50 industry:제조 signed:no")
    session.commit()
    headers, rows = export_rows(
        session=session, workspace=ws, actor=rep, entity="deals", filters="", now=f.T0
    )
    rows = list(rows)
    assert headers[-6:] == ["budget", "decision_maker", "industry", "kickoff", "tags", "signed"]
    assert rows[0][-6:] == ["120000000 KRW", "UADMIN", "IT", "2026-12-01", "a,b", "yes"]
    assert rows[1][-6:] == ["12000.5 USD", "", "제조", "", "", "no"]
    upload = run(session, ws, rep, "deal", "export industry:제조").uploads[0]
    sent = read_table(upload.content)
    assert sent.headers[-6:] == headers[-6:] and [r[2] for r in sent.rows] == ["Two"]
    filtered = list(
        export_rows(
            session=session,
            workspace=ws,
            actor=rep,
            entity="deals",
            filters="industry:제조",
            now=f.T0,
        )[1]
    )
    assert [r[2] for r in filtered] == ["Two"]
    data = write_table(headers, rows, "csv")

    other = f.workspace(session, "T2")
    boss = f.member(session, other, "UADMIN", Role.admin, name="park")
    define_three(session, other, boss)
    run(session, other, boss, "pipeline", 'field new "Kickoff" type:date')
    run(session, other, boss, "pipeline", 'field new "Tags" type:multiselect options:a,b')
    run(session, other, boss, "pipeline", 'field new "Signed" type:checkbox')
    session.commit()

    def imported():
        prepared = prepare(
            session=session,
            team_id="T2",
            entity="deals",
            data=data,
            filename="d.csv",
            overrides=[],
            actor=boss,
            now=f.T0,
        )
        assert prepared.plan.errors == []
        session.commit()  # the import writes in transactions of its own
        run_import(engine, prepared, team_id="T2", actor_id=boss.id, now=f.T0, skip_invalid=False)
        return prepared.plan

    first = imported()
    assert first.count("create") == 2
    again = imported()
    assert again.count("create") == 0 and again.count("skip") == 2
    session.expire_all()
    back, back_rows = export_rows(
        session=session, workspace=other, actor=boss, entity="deals", filters="", now=f.T0
    )
    assert [r[-6:] for r in back_rows] == [r[-6:] for r in rows]
    assert read_table(data).headers == headers


def test_a_bad_custom_cell_is_reported_with_its_row_and_column(session, team):
    ws, admin, rep = team
    define_three(session, ws, admin)
    session.commit()
    data = "title,budget,industry\nOne,5000만원,IT\nTwo,lots,IT\nThree,1억,mining\n".encode()
    prepared = prepare(
        session=session,
        team_id="T1",
        entity="deals",
        data=data,
        filename="d.csv",
        overrides=[],
        actor=admin,
        now=f.T0,
    )
    errors = [(e.row, e.column, e.key) for e in prepared.plan.errors]
    assert errors == [(3, "budget", "field.bad.money"), (4, "industry", "field.bad_option")]
    assert session.exec(select(func.count()).select_from(Deal)).one() == 0


def test_custom_field_filters_are_index_ranges_in_the_query_plan(engine, session, team):
    """``EXPLAIN`` (PostgreSQL) / ``EXPLAIN QUERY PLAN`` (SQLite) of ``/deal list budget>=1억
    industry:제조``: each filter reads its ``ix_custom_value_*`` index, never scans the values
    (with one open deal PostgreSQL probes per deal; bench/fields.py prints the range plan at
    scale)."""
    from bench.fields import explain
    from storage import bulk

    ws, admin, rep = team
    define_three(session, ws, admin)
    budget = cf.find(session=session, workspace_id=ws.id, entity="deals", key="budget")
    industry = cf.find(session=session, workspace_id=ws.id, entity="deals", key="industry")
    f.deal(session, ws, rep)
    rows = []
    for record in range(1000, 21000):  # values of 20,000 deals, as many as a big team's
        rows.append(
            {"workspace_id": ws.id, "field_id": budget.id, "record_id": record,
             "value_text": "KRW", "value_number": Decimal(record * 10_000), "value_date": None}
        )  # fmt: skip
        rows.append(
            {"workspace_id": ws.id, "field_id": industry.id, "record_id": record,
             "value_text": ("제조", "IT", "금융")[record % 3], "value_number": None,
             "value_date": None}
        )  # fmt: skip
    bulk.insert(session, CustomValue, rows)
    session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    filters = (("budget", ">=", "1억"), ("industry", ":", "제조"))
    plan = "\n".join(explain(session, ws, filters, f.T0))
    assert plan.count("ix_custom_value_") >= 2, plan  # both filters read an index
    assert "ix_custom_value_text" in plan, plan  # industry:제조 is (workspace, field, value)
    assert "Seq Scan on custom_value" not in plan and "SCAN custom_value" not in plan, plan


def test_the_fill_and_edit_modals_of_every_kind_are_valid_block_kit(session, team):
    from tests.fakeslack.blockkit import validate_view
    from views import fields as fv

    ws, admin, rep = team
    kinds = ["text", "number", "money", "date", "select", "multiselect", "member", "checkbox"]
    kinds += ["url", "email", "phone"]
    for kind in kinds:
        options = " options:a,b" if "select" in kind else ""
        run(session, ws, admin, "pipeline", f'field new "F {kind}" type:{kind}{options}')
    defs = cf.fields(session=session, workspace_id=ws.id, entity="deals")
    stages = session.exec(select(Stage).where(Stage.workspace_id == ws.id)).all()
    for locale in ("en", "ko"):
        assert validate_view(fv.fill_modal(7, stages[2], defs, locale)) == []
        for field in defs:
            assert validate_view(fv.edit_modal(field, stages[:6], locale)) == []


def test_companies_import_their_custom_fields_and_a_change_alone_is_an_update(
    engine, session, team
):
    ws, admin, rep = team
    run(session, ws, admin, "pipeline", 'field new "Region" type:text for:company')
    run(session, ws, admin, "pipeline", 'field new "Tier" type:select options:A,B for:company')
    session.commit()

    def imported(text: str):
        prepared = prepare(
            session=session, team_id="T1", entity="companies", data=text.encode(),
            filename="c.csv", overrides=[], actor=admin, now=f.T0,
        )  # fmt: skip
        assert prepared.plan.errors == []
        session.commit()
        run_import(engine, prepared, team_id="T1", actor_id=admin.id, now=f.T0, skip_invalid=False)
        return prepared.plan

    first = imported("name,region,tier\nAcme,Seoul,a\nHanbit,Busan,B\n")
    assert first.count("create") == 2
    assert imported("name,region,tier\nAcme,Seoul,A\nHanbit,Busan,B\n").count("skip") == 2
    changed = imported("회사,Region,Tier\nAcme,Incheon,A\nHanbit,Busan,B\n")
    assert (changed.count("update"), changed.count("skip")) == (1, 1)
    session.expire_all()
    headers, rows = export_rows(
        session=session, workspace=ws, actor=admin, entity="companies", filters="", now=f.T0
    )
    assert headers[-2:] == ["region", "tier"]
    assert sorted(r[1:2] + r[-2:] for r in rows) == [
        ["Acme", "Incheon", "A"],
        ["Hanbit", "Busan", "B"],
    ]
    shown = said(run(session, ws, admin, "company", "show Acme"))
    assert "Region\nIncheon" in shown and "Tier\nA" in shown


def test_a_new_deal_takes_custom_values_in_the_command_and_the_modal(session, team):
    from commands.field_values import answers
    from tests.fakeslack.blockkit import validate_view

    ws, admin, rep = team
    define_three(session, ws, admin)
    out = run(session, ws, rep, "deal", 'new "Acme ERP" amount:7590000 budget:1억 industry:IT')
    deal = session.exec(select(Deal).where(Deal.workspace_id == ws.id)).one()
    card = said_post(out)
    assert "Budget\n₩100,000,000" in card and "Industry\nIT" in card
    with pytest.raises(InvalidInput) as bad:  # read before the deal is made: nothing written
        run(session, ws, rep, "deal", 'new "Hanbit" industry:mining')
    assert bad.value.key == "field.bad_option"
    assert session.exec(select(func.count()).select_from(Deal)).one() == 1
    assert stored(session, deal.id) == 2

    modal = run(session, ws, rep, "deal", "new").modal
    assert validate_view(modal) == []
    blocks = [b["block_id"] for b in modal["blocks"] if b["type"] == "input"]
    assert blocks[-3:] == ["cf:budget", "cf:decision_maker", "cf:industry"]
    state = {
        "cf:budget": {"value": {"type": "plain_text_input", "value": "5000만원"}},
        "cf:decision_maker": {"value": {"type": "users_select", "selected_user": "UADMIN"}},
        "cf:industry": {"value": {"type": "static_select", "selected_option": None}},
    }
    assert answers(state) == (("budget", "5000만원"), ("decision_maker", "<@UADMIN>"))


def test_the_list_pager_keeps_the_custom_filters():
    from commands.handlers.deals import list_text

    cmd = parse("deal", 'list budget>=1억 5천만 industry:"IT 서비스" mine', today=TODAY)
    again = parse("deal", f"list {list_text(cmd)}", today=TODAY)
    assert (
        again.custom
        == cmd.custom
        == (
            ("industry", ":", "IT 서비스"),
            ("budget", ">=", "1억 5천만"),
        )
    )
    assert again.mine


def test_a_field_scoped_to_a_pipeline_is_only_on_its_deals(session, team):
    ws, admin, rep = team
    run(
        session,
        ws,
        admin,
        "pipeline",
        'field new "Renewal risk" type:select options:low,high pipeline:Renewals',
    )
    f.deal(session, ws, rep, title="New one")
    f.deal(session, ws, rep, title="Renewal one", pipeline_name="Renewals")
    with pytest.raises(InvalidInput) as elsewhere:
        run(session, ws, rep, "deal", "set 1 renewal_risk:high")
    assert elsewhere.value.key == "field.other_pipeline"
    out = run(session, ws, rep, "deal", "set 2 renewal_risk:HIGH")
    assert "Renewal risk\nhigh" in said_post(out)
    assert "Renewal risk" not in said(run(session, ws, rep, "deal", "show 1"))
    listed = render(run(session, ws, rep, "deal", "list renewal_risk:high").reply)
    assert "Renewal one" in listed and "New one" not in listed
