"""Alert views at their biggest stay within Slack's Block Kit limits (the fake Slack's
validator): the routes modal with the most routes a workspace may have, long names and
teams; a digest of hundreds of held alerts; App Home's choices with a hundred deals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.alerts import MAX_HOME_DEALS, MAX_OWNERS, MAX_ROUTES, AlertHome, RouteRow
from tests.fakeslack.blockkit import validate_message, validate_view
from views import alerts as views


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_routes_modal_with_every_route_a_workspace_may_have(locale):
    rows = [
        RouteRow(
            n,
            ("won", "lost", "moved", "created", "stalled", "renewal", "overdue")[n % 7],
            f"C{n:010d}",
            "P" * 100,
            "S" * 100,
            Decimal("999999999999.99"),
            "KRW",
            tuple(f"U{m:010d}" for m in range(MAX_OWNERS)),
        )
        for n in range(1, MAX_ROUTES + 1)
    ]
    view = views.routes_modal(rows, locale)
    assert validate_view(view) == []
    sections = [b for b in view["blocks"] if b["type"] == "section"]
    assert len(sections) == MAX_ROUTES  # every route is listed, none cut


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_a_digest_of_hundreds_of_alerts_fits_one_message(locale):
    messages = [{"text": f"Stalled deal: D{n} " + "x" * 150} for n in range(600)]
    digest = views.digest(messages, locale=locale)
    payload = {"text": digest.text, "blocks": digest.blocks}
    assert validate_message(payload) == []
    assert digest.blocks[-2]["type"] == "context"  # "… and N more"


def test_app_home_choices_with_a_hundred_deals_and_long_names():
    page = AlertHome(
        batch="hourly",
        quiet="22:30-06:15",  # not one of the offered windows: shown as it is
        timezone="Asia/Seoul",
        pipelines=[(n, "P" * 200) for n in range(1, 40)],
        deals=[(n, n, "T" * 200) for n in range(1, MAX_HOME_DEALS + 1)],
        muted={"d1", "p2"},
    )
    view = {"type": "home", "blocks": views.home_blocks(page, "ko")}
    assert validate_view(view) == []
    quiet = view["blocks"][3]["accessory"]["initial_option"]["value"]
    assert quiet == "22:30-06:15"
