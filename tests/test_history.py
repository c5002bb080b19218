import csv
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from sharing.models import Action, Outcome
from sharing.services import ledger_attempt

from .api import ApiClient, token_for
from .conftest import GLOBEX, INITECH


def record(team, actor, action=Action.SHARE, tenant=GLOBEX, outcome=Outcome.SUCCEEDED, **kw):
    entry = ledger_attempt(team=team, actor=actor, action=action, tenant=tenant, **kw)
    if outcome:
        entry.complete(outcome, http_status=200, request_id="req-1")
    return entry


def test_it_shows_entries_newest_first(client, alice, team):
    record(team, alice, tenant=GLOBEX, image_id="img-1", image_name="first")
    record(team, alice, action=Action.REVOKE, tenant=GLOBEX, image_id="img-1", image_name="second")
    client.force_login(alice)
    entries = client.get("/t/acme/history/").context["entries"]
    assert [e.action for e in entries] == [Action.REVOKE, Action.SHARE]


def test_each_filter_narrows_the_list(client, alice, bob, team):
    record(team, alice, tenant=GLOBEX, image_id="img-1")
    record(team, bob, action=Action.REQUEST, tenant=INITECH, image_id="img-2")
    record(team, alice, tenant=INITECH, image_id="img-2", outcome=Outcome.FAILED)
    record(team, alice, tenant=INITECH, image_id="img-3", outcome=None)
    client.force_login(alice)

    def count(query):
        return len(client.get(f"/t/acme/history/?{query}").context["entries"])

    assert count("") == 4
    assert count("image=img-2") == 2
    assert count(f"member={INITECH}") == 3
    assert count("actor=bob") == 1
    assert count("action=request") == 1
    assert count("outcome=failed") == 1
    assert count("outcome=unresolved") == 1
    today = timezone.localdate()
    assert count(f"since={today}&until={today}") == 4
    assert count(f"until={today - timedelta(days=1)}") == 0


def test_an_unresolved_attempt_is_visible(client, alice, team):
    record(team, alice, outcome=None)
    client.force_login(alice)
    assert "unresolved" in client.get("/t/acme/history/").text


def test_a_bad_date_range_is_explained_next_to_the_field(client, alice, team):
    client.force_login(alice)
    response = client.get("/t/acme/history/?since=2026-05-02&until=2026-05-01")
    assert response.context["form"].errors["until"] == ["This date is before the start date."]


def test_it_pages_by_keyset_without_overlap(client, alice, team):
    for n in range(120):
        record(team, alice, tenant=str(200000 + n))
    client.force_login(alice)
    seen = []
    url = "/t/acme/history/"
    while url:
        response = client.get(url)
        seen += [e.tenant for e in response.context["entries"]]
        before = response.context["next_before"]
        url = f"/t/acme/history/?before={before}" if before else None
    assert len(seen) == len(set(seen)) == 120


def test_other_teams_entries_never_show(client, alice, dave, team, other_team):
    record(other_team, dave, tenant="999999")
    client.force_login(alice)
    assert "999999" not in client.get("/t/acme/history/").text


def test_the_csv_export_streams_the_filtered_entries(client, alice, team):
    record(team, alice, tenant=GLOBEX, image_id="img-1", image_name="web, base")
    record(team, alice, tenant=INITECH, image_id="img-2")
    client.force_login(alice)
    response = client.get(f"/t/acme/history.csv?member={GLOBEX}")
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    *rows, head = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert head["id"] == "# ledger head"
    assert len(rows) == 1
    assert rows[0]["tenant"] == GLOBEX
    assert rows[0]["image_name"] == "web, base"
    assert rows[0]["outcome"] == "succeeded"


def test_the_csv_export_defuses_spreadsheet_formulas(client, alice, team):
    record(team, alice, image_id="img-1", image_name='=HYPERLINK("http://evil")')
    client.force_login(alice)
    response = client.get("/t/acme/history.csv")
    body = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK" in body


def test_the_activity_chart_counts_successful_shares_and_revokes(client, alice, team):
    record(team, alice, action=Action.SHARE)
    record(team, alice, action=Action.SHARE)
    record(team, alice, action=Action.REVOKE)
    record(team, alice, action=Action.SHARE, outcome=Outcome.FAILED)
    client.force_login(alice)
    chart = client.get("/t/acme/history/").context["chart"]
    today = chart["bars"][-1]
    assert (today.shares, today.revokes) == (2, 1)
    assert chart["peak"] == 3
    assert len(chart["bars"]) == 90


def test_times_carry_the_exact_utc_time_for_hover(client, alice, team):
    record(team, alice)
    client.force_login(alice)
    assert 'data-local title="' in client.get("/t/acme/history/").text


def test_an_outsider_cannot_export(client, dave, team):
    client.force_login(dave)
    assert client.get("/t/acme/history.csv").status_code == 404


def test_keyset_pages_neither_repeat_nor_skip_entries_of_the_same_instant(client, alice, team):
    same_moment = timezone.now()
    # Entries written in one instant (a bulk share) share created_at; order falls back to id.
    for n in range(75):
        entry = ledger_attempt(team=team, actor=alice, action=Action.SHARE, tenant=str(400000 + n))
        entry.created_at = same_moment
        entry.save()  # still an attempt: it may change until it has an outcome
    client.force_login(alice)
    first = client.get("/t/acme/history/")
    second = client.get(f"/t/acme/history/?before={first.context['next_before']}")
    tenants = [e.tenant for e in first.context["entries"]] + [
        e.tenant for e in second.context["entries"]
    ]
    assert len(tenants) == len(set(tenants)) == 75
    assert second.context["next_before"] is None


def test_date_filters_page_like_the_rest(client, alice, team):
    for n in range(60):
        record(team, alice, tenant=str(500000 + n))
    client.force_login(alice)
    today = timezone.localdate()
    first = client.get(f"/t/acme/history/?since={today}")
    second = client.get(f"/t/acme/history/?since={today}&before={first.context['next_before']}")
    assert len(first.context["entries"]) + len(second.context["entries"]) == 60


def test_the_chart_tops_the_first_page_only(client, alice, team):
    for n in range(60):
        record(team, alice, tenant=str(600000 + n))
    client.force_login(alice)
    first = client.get("/t/acme/history/")
    assert first.context["chart"] is not None
    deeper = client.get(f"/t/acme/history/?before={first.context['next_before']}")
    assert deeper.context["chart"] is None
    assert "<svg" not in deeper.text


# Days are the team's: a team west of the server (UTC in the tests) and one east of it, with
# entries ten minutes either side of the day's midnights there.

DAY = date(2026, 12, 10)


def near_midnights(team, actor, zone: str) -> None:
    """Entries 23:50 the day before, 00:10 and 23:50 on DAY, and 00:10 the day after, in
    `zone`; each entry's tenant says which."""
    local = ZoneInfo(zone)
    moments = {
        "before": datetime.combine(DAY - timedelta(days=1), time(23, 50), local),
        "early": datetime.combine(DAY, time(0, 10), local),
        "late": datetime.combine(DAY, time(23, 50), local),
        "after": datetime.combine(DAY + timedelta(days=1), time(0, 10), local),
    }
    for tenant, moment in moments.items():
        entry = ledger_attempt(team=team, actor=actor, action=Action.SHARE, tenant=tenant)
        entry.created_at = moment
        entry.save()  # still an attempt: it may change until it has an outcome
        entry.complete(Outcome.SUCCEEDED, http_status=200)


@pytest.fixture(params=["America/Los_Angeles", "Pacific/Auckland"])
def zoned_team(request, team, alice):
    team.time_zone = request.param
    team.save()
    near_midnights(team, alice, request.param)
    return team


def test_from_and_until_are_whole_days_in_the_teams_time_zone(client, alice, zoned_team):
    client.force_login(alice)

    def tenants(query: str) -> set[str]:
        return {e.tenant for e in client.get(f"/t/acme/history/?{query}").context["entries"]}

    assert tenants(f"since={DAY}&until={DAY}") == {"early", "late"}
    assert tenants(f"until={DAY}") == {"before", "early", "late"}
    assert tenants(f"since={DAY + timedelta(days=1)}") == {"after"}
    page = client.get("/t/acme/history/").text
    assert f"days in the team's time zone, {zoned_team.time_zone}" in page


def test_the_csv_export_takes_the_same_days(client, alice, zoned_team):
    client.force_login(alice)
    response = client.get(f"/t/acme/history.csv?since={DAY}&until={DAY}")
    *rows, _head = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert {row["tenant"] for row in rows} == {"early", "late"}


def test_the_apis_since_and_until_take_the_same_days(alice, zoned_team):
    api = ApiClient(token_for(alice, zoned_team))
    response = api.get(f"/api/v1/teams/acme/history/?since={DAY}&until={DAY}")
    assert {row["tenant"] for row in response.json()["results"]} == {"early", "late"}


def test_the_chart_counts_each_entry_on_its_day_in_the_teams_time_zone(
    client, alice, team, monkeypatch
):
    team.time_zone = "Pacific/Auckland"
    team.save()
    near_midnights(team, alice, team.time_zone)
    # Noon on the day after DAY in Auckland: the last bar is that day, the one before it DAY.
    noon = datetime.combine(DAY + timedelta(days=1), time(12), ZoneInfo(team.time_zone))
    monkeypatch.setattr(timezone, "now", lambda: noon)
    client.force_login(alice)
    bars = client.get("/t/acme/history/").context["chart"]["bars"]
    assert [(bar.day, bar.shares) for bar in bars[-3:]] == [
        (DAY - timedelta(days=1), 1),
        (DAY, 2),
        (DAY + timedelta(days=1), 1),
    ]


def test_the_last_day_of_the_calendar_is_a_filter_like_any_other_west_of_utc(client, alice, team):
    team.time_zone = "America/Los_Angeles"  # its 9999-12-31 ends past what a datetime holds
    team.save()
    record(team, alice)
    client.force_login(alice)
    assert len(client.get("/t/acme/history/?until=9999-12-31").context["entries"]) == 1
    assert client.get("/t/acme/history/?since=9999-12-31").context["entries"] == []


def test_a_day_the_clocks_go_back_has_all_its_25_hours(client, alice, team):
    team.time_zone = "America/Los_Angeles"  # 1 Nov 2026: 01:00 to 02:00 happens twice
    team.save()
    late = datetime.combine(date(2026, 11, 1), time(23, 30), ZoneInfo(team.time_zone))
    entry = ledger_attempt(team=team, actor=alice, action=Action.SHARE, tenant=GLOBEX)
    entry.created_at = late
    entry.save()
    client.force_login(alice)
    entries = client.get("/t/acme/history/?since=2026-11-01&until=2026-11-01").context["entries"]
    assert [e.tenant for e in entries] == [GLOBEX]
