"""The history page stays cheap to draw (bench/history_page.py measures it) and shows the same."""

from sharing.models import AccessRequest, Action, Outcome
from sharing.services import ledger_attempt, ledger_record
from sharing.services.ledger import ledger_complete, ledger_settle

from .conftest import GLOBEX, INITECH

IMAGE_ID = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def templates_of(response) -> list[str]:
    return [template.name for template in response.templates]


def test_the_history_page_draws_no_template_per_row(client, alice, team):
    ledger_record(team=team, actor=alice, action=Action.SHARE, tenant=GLOBEX)
    client.force_login(alice)
    client.get("/t/acme/history/")  # draws the chart, cached from then on
    one_row = templates_of(client.get("/t/acme/history/"))
    for n in range(60):
        ledger_record(team=team, actor=alice, action=Action.SHARE, tenant=str(700000 + n))
    full_page = client.get("/t/acme/history/")
    assert len(full_page.context["entries"]) == 50
    assert templates_of(full_page) == one_row


def test_the_chart_is_drawn_once_with_its_cached_figures(client, alice, team):
    ledger_record(team=team, actor=alice, action=Action.SHARE, tenant=GLOBEX)
    client.force_login(alice)
    first = client.get("/t/acme/history/")
    second = client.get("/t/acme/history/")
    assert "sharing/includes/activity_chart.html" in templates_of(first)
    assert "sharing/includes/activity_chart.html" not in templates_of(second)
    assert second.context["chart"]["html"] in second.text
    assert "1 shared, 0 revoked or expired" in second.text


def test_a_ledger_row_shows_its_request_settlement_and_answers(client, alice, team):
    access_request = AccessRequest.objects.create(
        team=team, region="IAD", image_id="img-9", tenant=INITECH, justification="pilot",
        requester_name="dana", status_token="row-token",
    )  # fmt: skip
    ledger_record(
        team=team, actor=alice, action=Action.APPROVE, image_id="img-9", image_name="<b>web</b>",
        tenant=INITECH, access_request=access_request, note="for the pilot",
    )  # fmt: skip
    unknown = ledger_attempt(
        team=team, actor=alice, action=Action.SHARE, tenant=GLOBEX,
        image_id=IMAGE_ID,
    )  # fmt: skip
    ledger_complete(unknown, Outcome.UNKNOWN, http_status=504, request_id="req-7", message="Late")
    ledger_settle(unknown, Outcome.SUCCEEDED, "The member list shows it.")
    failed = ledger_attempt(team=team, actor=alice, action=Action.REVOKE, tenant=GLOBEX)
    ledger_complete(failed, Outcome.FAILED, http_status=409, request_id="req-8")
    ledger_attempt(team=team, actor=alice, action=Action.SHARE, tenant="100077")
    client.force_login(alice)
    page = client.get("/t/acme/history/").text
    assert f'Approve request <a href="/t/acme/requests/{access_request.pk}/">#' in page
    assert '<span title="img-9"><bdi>&lt;b&gt;web&lt;/b&gt;</bdi></span>' in page
    assert "<em><bdi>for the pilot</bdi></em>" in page
    assert f'<span class="mono" title="{IMAGE_ID}">0f1e2d3c…</span>' in page
    assert '<bdi>Late</bdi> <span class="settlement">Settled later: The member list' in page
    assert '<span class="muted" title="request req-7">HTTP 504</span>' in page
    assert '<span class="muted">HTTP 409 <span class="mono">req-8</span></span>' in page
    assert '<span class="badge badge-failed">Failed</span>' in page
    assert '<span class="badge badge-unknown">unresolved</span>' in page
    assert '<bdi>alice</bdi> <small class="muted">Browser</small>' in page
