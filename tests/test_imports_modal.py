"""``/pipeline import`` end to end: the modal's file input → ``files.info`` → the download with
the bot token → the preview (mapping and dry run) → the import after the ack, its progress
message in the admin's DM updated through the outbox and finished once. Real app, real
database (SQLite and PostgreSQL), the fake Slack enforcing Block Kit limits."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, func, select

from commands import import_jobs
from domain.clock import SystemClock
from domain.import_jobs import JobOptions
from domain.workspaces import WorkspaceDefaults, get_or_create_member, get_or_create_workspace
from storage.db import make_engine
from storage.models import Deal, ImportRun, Outbox, StageHistory
from tests.fakeslack import FakeSlack
from tests.slackapp import TEAM, running_app, wait

HEADERS = ["딜 이름", "금액", "단계", "담당자", "회사", "마감일"]
AMOUNTS = [("1억 2천만", 120_000_000), ("759만원", 7_590_000), ("3,500,000", 3_500_000)]
STAGES = ["컨택", "Qualification", "미팅", "제안", "협상", "Won"]


def deals_csv(n: int, *, bump_every: int = 0) -> tuple[bytes, int]:
    """``n`` deals under the Korean headers (title + company make a deal's identity); every
    ``bump_every``-th amount raised by 1,000원. Returns the file and the sum of its amounts."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    total = 0
    for i in range(n):
        written, value = AMOUNTS[i % len(AMOUNTS)]
        if bump_every and i % bump_every == 0:
            value += 1000
            written = f"{value:,}"
        total += value
        owner = "U1" if i % 2 else "U0LEE"
        close = f"2027. {i % 12 + 1}. {i % 28 + 1}."
        writer.writerow([f"딜 {i}", written, STAGES[i % 6], owner, f"회사{i % 40}", close])
    return out.getvalue().encode("utf-8"), total


@pytest.fixture
def app(db_url):
    with running_app(db_url) as harness:
        harness.slack.users["U1"] = {"locale": "en-US"}
        harness.slack.users["U2"] = {"locale": "en-US"}
        harness.command("/pipeline", "help")  # U1, the first member, is the admin
        harness.deps.ack_budget = 30.0  # the preview rides in the ack even on a loaded machine
        yield harness
        assert harness.slack.problems == [], "every view and message passes Block Kit"


def opened(app) -> dict:
    call = app.slack.wait_for("views.open")[-1]
    return {**call.args["view"], "id": call.response["view"]["id"]}


def picked(value: str) -> dict:
    return {"value": {"type": "static_select", "selected_option": {"value": value}}}


def file_values(file: dict | None, entity: str = "deals", skip: bool = False) -> dict:
    files = [file] if file else []
    chosen = [{"value": "skip"}] if skip else []
    return {
        "file": {"value": {"type": "file_input", "files": files}},
        "entity": picked(entity),
        "skip": {"value": {"type": "checkboxes", "selected_options": chosen}},
    }


def submitted(view: dict, values: dict) -> dict:
    return {
        "id": view["id"],
        "callback_id": view["callback_id"],
        "private_metadata": view.get("private_metadata", ""),
        "blocks": view["blocks"],
        "state": {"values": values},
    }


def answered_view(app, body: dict, view_id: str) -> dict:
    """The view that replaced the modal: in the ack, or (a slow file) by views.update."""
    assert body["response_action"] == "update"
    view = body["view"]
    if view.get("callback_id"):
        return {**view, "id": view_id}
    update = wait(lambda: app.slack.calls_to("views.update"), what="the preview")[-1]
    return {**update.args["view"], "id": view_id}


def mapping_of(view: dict) -> dict[str, str]:
    selects = [b for b in view["blocks"] if str(b.get("block_id", "")).startswith("col")]
    return {b["label"]["text"]: b["element"]["initial_option"]["value"] for b in selects}


def confirm_values(view: dict, skip: bool = False, **changed: str) -> dict:
    values = {}
    for block in view["blocks"]:
        if str(block.get("block_id", "")).startswith("col"):
            value = changed.get(block["label"]["text"], block["element"]["initial_option"]["value"])
            values[block["block_id"]] = picked(value)
    chosen = [{"value": "skip"}] if skip else []
    values["skip"] = {"value": {"type": "checkboxes", "selected_options": chosen}}
    return values


def preview(app, data: bytes, name: str = "딜.csv", *, user: str = "U1") -> dict:
    assert app.command("/pipeline", "import", user=user)[0] == 200
    view = opened(app)
    file = app.slack.share_file(name, data, user=user)
    status, body = app.submit(submitted(view, file_values(file)), user=user)
    assert status == 200
    return answered_view(app, body, view["id"])


def texts(view: dict) -> str:
    return "\n".join(
        b["text"]["text"] for b in view["blocks"] if b["type"] in ("section", "header")
    )


def dm_messages(app) -> list[dict]:
    return app.slack.messages("DU1")


def finished_run(app, count: int = 1) -> list[ImportRun]:
    def done():
        with Session(app.engine) as session:
            slack_runs = select(ImportRun).where(ImportRun.file_id.is_not(None))
            runs = session.exec(slack_runs.order_by(ImportRun.id)).all()
        return runs if len([r for r in runs if r.status == "done"]) >= count else None

    runs = wait(done, timeout=120, what="the import to finish")
    app.settle(timeout=30)
    return runs


def count(app, table) -> int:
    with Session(app.engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


def test_a_thousand_korean_rows_through_the_modal_then_again(app):
    data, total = deals_csv(1000)
    assert app.command("/pipeline", "import")[0] == 200
    first = opened(app)
    assert first["callback_id"] == "import_file"
    file_input = next(b for b in first["blocks"] if b.get("block_id") == "file")["element"]
    assert file_input["type"] == "file_input" and file_input["filetypes"] == ["csv", "xlsx"]

    file = app.slack.share_file("딜.csv", data)
    status, body = app.submit(submitted(first, file_values(file)))
    assert status == 200
    view = answered_view(app, body, first["id"])

    info = app.slack.calls_to("files.info")[-1]
    download = app.slack.calls_to("files.download")[-1]
    assert info.args["file"] == file["id"] and download.token == "xoxb-test"
    assert view["callback_id"] == "import_confirm"
    assert "1000 rows: 1000 to create, 0 to update, 0 unchanged, 0 invalid." in texts(view)
    assert mapping_of(view) == {
        "딜 이름": "title",
        "금액": "amount",
        "단계": "stage",
        "담당자": "owner",
        "회사": "company",
        "마감일": "close",
    }
    assert count(app, Deal) == 0, "a preview writes nothing"

    status, body = app.submit(submitted(view, confirm_values(view)))
    assert status == 200 and body["response_action"] == "update"
    assert "DM" in texts(body["view"])

    run = finished_run(app)[-1]
    assert (run.created, run.updated, run.skipped, run.file_id) == (1000, 0, 0, file["id"])
    with Session(app.engine) as session:
        amounts = session.exec(select(func.sum(Deal.amount))).one()
        history = session.exec(
            select(func.count()).where(StageHistory.import_run_id == run.id)
        ).one()
    assert Decimal(amounts) == total and history == 1000
    messages = dm_messages(app)
    assert len(messages) == 1, "one progress message, updated in place"
    final = "Imported *딜.csv* (Deals): 1,000 created, 0 updated, 0 skipped."
    assert messages[0]["text"] == final
    updates = [c for c in app.slack.calls_to("chat.update") if c.args["text"] == final]
    assert len(updates) == 1, "it finishes once"
    posts = app.slack.calls_to("chat.postMessage")
    assert [c.args["channel"] for c in posts] == ["DU1"], "1,000 deals, no cards yet"

    bumped, _ = deals_csv(1000, bump_every=10)  # 100 amounts changed
    again = preview(app, bumped, "딜-2.csv")
    assert "1000 rows: 0 to create, 100 to update, 900 unchanged, 0 invalid." in texts(again)
    app.submit(submitted(again, confirm_values(again)))
    finished_run(app, count=2)
    assert count(app, Deal) == 1000, "re-import creates nothing new"
    with Session(app.engine) as session:
        assert session.exec(select(func.count()).where(Deal.amount == 120_001_000)).one() == 34
    assert dm_messages(app)[-1]["text"].endswith("0 created, 100 updated, 900 skipped.")


def test_a_changed_mapping_plans_again_before_anything_is_written(app):
    data, _ = deals_csv(20)
    view = preview(app, data)
    status, body = app.submit(submitted(view, confirm_values(view, 회사="-")))
    again = answered_view(app, body, view["id"])
    assert again["callback_id"] == "import_confirm" and mapping_of(again)["회사"] == "-"
    assert count(app, Deal) == 0 and count(app, ImportRun) == 0
    app.submit(submitted(again, confirm_values(again)))
    finished_run(app)
    with Session(app.engine) as session:
        assert session.exec(select(func.count()).where(Deal.company_id.is_not(None))).one() == 0


def test_a_file_that_is_no_table_is_answered_in_the_modal_and_nothing_is_written(app):
    assert app.command("/pipeline", "import")[0] == 200
    view = opened(app)
    file = app.slack.share_file("deals.xlsx", b"PK\x03\x04 not really a workbook")
    status, body = app.submit(submitted(view, file_values(file)))
    assert status == 200 and body["response_action"] == "errors"
    assert body["errors"] == {
        "file": "That file is neither a CSV (UTF-8 or Excel's Korean encoding) nor an XLSX workbook."
    }
    status, body = app.submit(submitted(view, file_values(None)))
    assert body["errors"] == {"file": "Choose a CSV or XLSX file."}
    assert count(app, Deal) == 0 and count(app, ImportRun) == 0 and count(app, Outbox) == 0


def test_a_file_over_ten_megabytes_is_refused_before_it_is_downloaded(app):
    assert app.command("/pipeline", "import")[0] == 200
    view = opened(app)
    file = app.slack.share_file("big.csv", b"x" * (10 * 1024 * 1024 + 1))
    status, body = app.submit(submitted(view, file_values(file)))
    assert "over 10 MB" in body["errors"]["file"]
    assert app.slack.calls_to("files.download", ok_only=False) == []


def test_invalid_rows_are_listed_and_need_the_box_ticked(app):
    data, _ = deals_csv(30)
    data = data.replace("759만원".encode(), b"lots", 2)
    view = preview(app, data)
    shown = texts(view)
    assert "30 rows: 28 to create, 0 to update, 0 unchanged, 2 invalid." in shown
    assert "Row 3, column “금액”:" in shown
    status, body = app.submit(submitted(view, confirm_values(view)))
    assert body["response_action"] == "errors" and "2 rows are invalid" in body["errors"]["skip"]
    assert count(app, Deal) == 0 and count(app, ImportRun) == 0
    app.submit(submitted(view, confirm_values(view, skip=True)))
    run = finished_run(app)[-1]
    assert (run.created, run.skipped) == (28, 2) and count(app, Deal) == 28


def test_imports_are_for_admins(app):
    status, reply = app.command("/pipeline", "import", user="U2")
    assert status == 200 and "admin" in reply["text"]
    assert app.slack.calls_to("views.open") == []
    data, _ = deals_csv(5)
    view = preview(app, data)  # an admin's preview, submitted by a rep (a crafted request)
    status, body = app.submit(submitted(view, confirm_values(view)), user="U2")
    assert body["response_action"] == "errors" and "admin" in body["errors"]["skip"]
    assert count(app, Deal) == 0 and count(app, ImportRun) == 0


def test_an_import_whose_process_died_is_finished_by_the_next_start(db_url):
    """Half the file was written, then the process died: the next start finishes the run."""
    data, total = deals_csv(400)
    engine = make_engine(db_url)
    long_ago = SystemClock().now() - timedelta(minutes=10)
    with FakeSlack(team_id=TEAM) as slack:
        file = slack.share_file("딜.csv", data)
        with Session(engine) as session:
            ws = get_or_create_workspace(
                session=session,
                team_id=TEAM,
                defaults=WorkspaceDefaults(locale="en", deals_channel="CDEALS"),
            )
            admin = get_or_create_member(session=session, workspace=ws, slack_user_id="U1")
            options = JobOptions(entity="deals", filename="딜.csv", user="U1", locale="en")
            run_id = import_jobs.start(
                session,
                workspace=ws,
                file_id=file["id"],
                options=options,
                actor_id=admin.id,
                locale="en",
                now=long_ago,
            )
            session.commit()
            admin_id = admin.id
        half, _ = deals_csv(200)  # the batches that were committed before the crash
        _import_directly(engine, half, admin_id)
        assert _deals(engine) == 200

        with running_app(db_url, slack=slack) as app:
            run = finished_run(app)[0]
            assert run.id == run_id and (run.created, run.skipped) == (200, 200)
            assert _deals(engine) == 400
            with Session(engine) as session:
                assert Decimal(session.exec(select(func.sum(Deal.amount))).one()) == total
            assert app.slack.messages("DU1")[-1]["text"].startswith("Imported *딜.csv*")
            assert app.slack.problems == []
    engine.dispose()


def _import_directly(engine, data: bytes, actor_id: int) -> None:
    from commands.importing import execute, prepare
    from storage.models import Member

    now = SystemClock().now()
    with Session(engine) as session:
        actor = session.get(Member, actor_id)
        prepared = prepare(
            session=session,
            team_id=TEAM,
            entity="deals",
            data=data,
            filename="half.csv",
            overrides=[],
            actor=actor,
            now=now,
        )
        session.commit()
    execute(engine, prepared, team_id=TEAM, actor_id=actor_id, now=now, skip_invalid=False)


def _deals(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Deal)).one()


def test_a_file_slower_than_the_ack_gets_its_preview_or_its_error_by_views_update(app):
    app.deps.ack_budget = 0.0  # every file takes longer than Slack waits
    data, _ = deals_csv(50)
    assert app.command("/pipeline", "import")[0] == 200
    view = opened(app)
    file = app.slack.share_file("딜.csv", data)
    status, body = app.submit(submitted(view, file_values(file)))
    assert status == 200 and body["response_action"] == "update"
    assert body["view"]["blocks"][0]["text"]["text"] == "Reading *딜.csv*…"
    update = app.slack.wait_for("views.update")[-1]
    assert update.args["view_id"] == view["id"]
    assert update.args["view"]["callback_id"] == "import_confirm"
    assert "50 rows: 50 to create" in texts(update.args["view"])

    bad = app.slack.share_file("deals.csv", "딜 이름,금액\n".encode() + b"\xff\xfe\x00" * 10)
    assert app.command("/pipeline", "import")[0] == 200
    view = opened(app)
    status, body = app.submit(submitted(view, file_values(bad)))
    assert body["response_action"] == "update"
    update = app.slack.wait_for("views.update", count=2)[-1]
    again = update.args["view"]
    assert again["callback_id"] == "import_file", "back to the file, with the reason"
    assert texts(again).startswith(":warning: That file is neither a CSV")
    assert count(app, Deal) == 0 and count(app, ImportRun) == 0


def test_crafted_submissions_are_answered_under_a_field_not_with_a_traceback(app):
    meta = '{"file": 42, "map": "x", "entity": "secrets"}'
    values = {"skip": "nope", "col0": [], "file": {"value": {"files": {"id": "F1"}}}}
    for callback, field in (("import_confirm", "skip"), ("import_file", "file")):
        view = {"callback_id": callback, "private_metadata": meta, "state": {"values": values}}
        status, body = app.submit(view)
        assert status == 200 and body["errors"] == {field: "Choose a CSV or XLSX file."}
    assert count(app, ImportRun) == 0


def test_the_bot_token_goes_only_to_slack_and_a_refused_download_is_said_plainly():
    from slack_sdk import WebClient

    from bot.importer import fetch
    from domain.errors import InvalidInput

    with FakeSlack(team_id=TEAM) as slack:
        file = slack.share_file("딜.csv", b"a,b\n1,2\n")
        assert fetch(WebClient(token="xoxb-test", base_url=slack.url), file["id"]) == (
            b"a,b\n1,2\n",
            "딜.csv",
        )
        with pytest.raises(InvalidInput) as refused:  # Slack's sign-in page, not the file
            fetch(WebClient(token="xoxp-user", base_url=slack.url), file["id"])
        assert refused.value.key == "import.file_unavailable"
        elsewhere = slack.share_file("x.csv", b"a\n1\n")
        slack.state.shared[elsewhere["id"]]["url_private_download"] = "https://evil.example/x"
        with pytest.raises(InvalidInput):
            fetch(WebClient(token="xoxb-test", base_url=slack.url), elsewhere["id"])
        downloads = slack.calls_to("files.download", ok_only=False)
        assert [(c.args["file"], c.ok) for c in downloads] == [
            (file["id"], True),
            (file["id"], False),
        ]


def test_in_korean_the_modal_and_the_progress_message_speak_korean(db_url):
    with running_app(db_url, locale="ko") as app:
        app.slack.users["U1"] = {"locale": "ko-KR"}
        data, _ = deals_csv(20)
        assert app.command("/pipeline", "가져오기")[0] == 200
        view = opened(app)
        assert view["title"]["text"] == "가져오기" and view["submit"]["text"] == "미리보기"
        file = app.slack.share_file("딜.csv", data)
        status, body = app.submit(submitted(view, file_values(file)))
        shown = answered_view(app, body, view["id"])
        assert "20행: 새로 만들 20건, 업데이트 0건, 변경 없음 0건, 오류 0건." in texts(shown)
        app.submit(submitted(shown, confirm_values(shown)))
        finished_run(app)
        assert dm_messages(app)[-1]["text"] == (
            "*딜.csv* 가져오기 완료 (딜): 새로 만듦 20건, 업데이트 0건, 건너뜀 0건."
        )
        assert app.slack.problems == []
