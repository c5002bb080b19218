"""A cloud outage hides nothing the dashboard knows: records and history stay, marked stale."""

from .conftest import GLOBEX, acme_image


def test_the_image_page_shows_our_records_and_history_while_the_cloud_is_down(client, alice, cloud):
    image_id = acme_image(cloud, name="web-base")
    client.force_login(alice)
    client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX, "note": "pilot"})
    cloud.add_fault("error", route="image_get", status=503)

    response = client.get(f"/t/acme/images/{image_id}/")
    assert response.status_code == 200
    assert "Cloud unreachable, statuses may be stale." in response.text
    assert "<h1>web-base" in response.text  # the name our records know
    assert [row.tenant for row in response.context["members"]] == [GLOBEX]
    assert "pilot" in response.text  # the image's history
    assert "(request req-" in response.text


def test_the_images_list_shows_the_images_our_records_know_while_the_cloud_is_down(
    client, alice, cloud
):
    image_id = acme_image(cloud, name="web-base")
    acme_image(cloud, name="never shared")
    client.force_login(alice)
    client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX})
    cloud.add_fault("error", route="images_list", status=503)

    response = client.get("/t/acme/images/")
    assert "Cloud unreachable, statuses may be stale." in response.text
    assert [(image.name, count["total"]) for image, count in response.context["rows"]] == [
        ("web-base", 1)
    ]
