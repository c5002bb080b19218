"""The approval queue: what an admin needs to decide, and the decision, on one page."""

from sharing.models import AccessRequest, Partner, RequestStatus

from .conftest import GLOBEX, INITECH, acme_image


def ask(client, image_id, justification="Globex runs our CRM appliance.", tenant="Globex"):
    return client.post(
        "/t/acme/requests/new/",
        {"image_id": image_id, "member": tenant, "justification": justification,
         "expires_at": "2027-01-01"},
    )  # fmt: skip


def test_the_queue_shows_name_partner_justification_end_and_age(client, alice, bob, cloud, team):
    Partner.objects.create(team=team, tenant=GLOBEX, name="Globex")
    image_id = acme_image(cloud, name="CRM appliance")
    client.force_login(bob)
    ask(client, image_id)
    client.force_login(alice)
    text = client.get("/t/acme/requests/").text
    assert "CRM appliance" in text
    assert f'<bdi>Globex</bdi> <bdi class="mono muted">{GLOBEX}</bdi>' in text
    assert "Globex runs our CRM appliance." in text
    assert ">until 1 Jan 2027</time>" in text
    assert "just now by <bdi>bob</bdi>" in text


def test_an_admin_approves_and_rejects_from_the_queue(client, alice, bob, cloud, team):
    Partner.objects.create(team=team, tenant=GLOBEX, name="Globex")
    image_id = acme_image(cloud, name="CRM appliance")
    client.force_login(bob)
    ask(client, image_id)
    ask(client, image_id, "Initech too", tenant=INITECH)
    first, second = AccessRequest.objects.order_by("pk")
    client.force_login(alice)

    approved = client.post(f"/t/acme/requests/{first.pk}/approve/", {"next": "queue"}, follow=True)
    assert approved.redirect_chain[-1][0] == "/t/acme/requests/"
    assert cloud.member_status(image_id, GLOBEX) == "pending"

    unexplained = client.post(f"/t/acme/requests/{second.pk}/reject/", {"next": "queue"})
    assert "Say why: the requester sees this reason." in unexplained.text
    client.post(f"/t/acme/requests/{second.pk}/reject/", {"next": "queue", "note": "Duplicate"})
    statuses = list(AccessRequest.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [RequestStatus.APPROVED, RequestStatus.REJECTED]


def test_the_request_form_offers_images_by_name(client, bob, cloud):
    image_id = acme_image(cloud, name="CRM appliance")
    client.force_login(bob)
    text = client.get("/t/acme/requests/new/").text
    assert '<option value="" selected>Choose an image</option>' in text
    assert f'<option value="{image_id}">CRM appliance · {image_id[:8]}</option>' in text
