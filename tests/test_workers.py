"""``salesbot serve --workers 2``: two serving processes on one port (gunicorn, threaded
workers), as a real process sent real signed slash commands. Every command is answered in
its ack, every post lands exactly once, on SQLite (several processes writing one file) and
PostgreSQL."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlmodel import Session, select

from storage.db import make_engine
from storage.models import Deal, Outbox
from tests.fakeslack import FakeSlack
from tests.processes import free_port, harness, serving
from tests.slackapp import quiet_automation, wait

CHANNEL = "CDEALS"
DEALS = 24


def stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, parent, …); None once gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    fields = stat(pid)
    return fields is not None and fields[0] != "Z"


def children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        fields = stat(int(entry.name))
        if fields is not None and int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def sent(engine) -> list[Outbox]:
    with Session(engine) as session:
        return list(session.exec(select(Outbox)))


def test_two_workers_answer_every_command_and_post_each_card_once(db_url, tmp_path):
    engine = make_engine(db_url)
    with (
        FakeSlack(team_id="T1") as slack,
        serving(db_url, slack, tmp_path, workers=2, scheduler=True) as server,
    ):
        wait(lambda: len(children(server.proc.pid)) == 2, what="two workers")
        app = harness(server, slack, engine)
        quiet_automation(app)  # no playbook tasks: a create is one short transaction

        def new(i: int):
            return app.command("/deal", f'new "Deal {i}" amount:{1000 + i}', user="U1")

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(new, range(DEALS)))
        for status, reply in answers:  # held past 2 s by the other's writes: the answer follows
            assert status == 200 and "D" in reply["text"], reply
        with ThreadPoolExecutor(8) as pool:
            shown = list(pool.map(lambda n: app.command("/deal", f"show {n}"), range(1, 25)))
        for number, (status, reply) in enumerate(shown, start=1):
            assert status == 200 and f"D{number}" in reply["text"], reply
        wait(
            lambda: len(sent(engine)) >= DEALS and all(r.status == "sent" for r in sent(engine)),
            timeout=30,
            what="every card sent",
        )
        time.sleep(1.0)  # a post sent twice would arrive now
        # Deal cards only: a scheduler tick a minute in may post this week's summary too.
        cards = [
            m
            for m in slack.messages(CHANNEL)
            if m.get("thread_ts") in (None, m["ts"]) and re.match(r"D\d+ ", m.get("text", ""))
        ]
        titles = sorted(m["text"] for m in cards)
        assert len(cards) == DEALS, titles
        assert len(set(titles)) == DEALS
        with Session(engine) as session:
            numbers = sorted(session.exec(select(Deal.number)))
        assert numbers == list(range(1, DEALS + 1))  # no number taken twice
        assert slack.problems == []
        assert "Traceback" not in server.output()
    engine.dispose()


def test_a_kill_9_of_the_master_loses_no_post_and_a_restart_on_its_port_sends_it_once(
    db_url, tmp_path
):
    """The default server (gunicorn) killed like a lost host: its workers notice their
    master is gone and leave, the port frees, the next server on it sends what was in
    flight, once."""
    engine = make_engine(db_url)
    port = free_port()
    with FakeSlack(team_id="T1") as slack:
        with serving(db_url, slack, tmp_path, workers=2, port=port, name="first") as first:
            wait(lambda: len(children(first.proc.pid)) == 2, what="two workers")
            workers = children(first.proc.pid)
            app = harness(first, slack, engine)
            quiet_automation(app)
            status, reply = app.command("/deal", 'new "Acme ERP" amount:7590000')
            assert status == 200 and "D1" in reply["text"], reply
            wait(lambda: sent(engine) and all(r.status == "sent" for r in sent(engine)))
            slack.slow_next("chat.postMessage", 30)
            status, reply = app.command("/deal", "move 1 Qualification")
            assert status == 200 and "Qualification" in reply["text"], reply
            wait(lambda: slack.in_flight("chat.postMessage"), what="the thread reply in flight")
            first.kill()
            wait(lambda: not any(alive(w) for w in workers), timeout=30, what="orphans to leave")
        assert [r.status for r in sent(engine)].count("sending") == 1
        with serving(db_url, slack, tmp_path, workers=2, port=port, name="second") as second:
            wait(lambda: all(r.status == "sent" for r in sent(engine)), timeout=30)
            time.sleep(1.0)  # a post sent twice would arrive now
            assert "Traceback" not in second.output()
        card = next(m for m in slack.messages(CHANNEL) if m.get("thread_ts") in (None, m["ts"]))
        replies = [
            m["text"]
            for m in slack.messages(CHANNEL)
            if m.get("thread_ts") == card["ts"] and m["ts"] != card["ts"]
        ]
        assert sum("Qualification" in text for text in replies) == 1, replies
        assert slack.problems == []
    engine.dispose()
