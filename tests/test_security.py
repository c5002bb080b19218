"""What every page promises: CSRF on POSTs, a strict CSP with no inline code, no framing."""

from django.test import Client

from .conftest import GLOBEX, acme_image


def test_a_post_without_the_csrf_token_is_refused(alice, cloud):
    image_id = acme_image(cloud)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX})
    assert response.status_code == 403
    assert cloud.members(image_id) == []


def test_pages_carry_a_strict_content_security_policy(client, alice, cloud):
    client.force_login(alice)
    response = client.get("/t/acme/images/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert response["X-Frame-Options"] == "DENY"


def test_templates_hold_no_inline_scripts_or_styles(client, alice, cloud):
    client.force_login(alice)
    image_id = acme_image(cloud)
    for url in ("/t/acme/images/", f"/t/acme/images/{image_id}/", "/t/acme/history/"):
        html = client.get(url).text
        assert "<script>" not in html and " style=" not in html and "<style" not in html
