from django.contrib.auth.models import User

from sharing.models import Team


def test_the_secret_is_stored_encrypted(team):
    raw = Team.objects.filter(pk=team.pk).values_list("secret_encrypted", flat=True).get()
    assert "demo-api-key" not in raw
    assert Team.objects.get(pk=team.pk).get_secret() == "demo-api-key"


def test_an_old_key_still_decrypts_after_rotation(team, settings):
    from cryptography.fernet import Fernet

    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode(), *settings.CREDENTIALS_KEYS]
    assert Team.objects.get(pk=team.pk).get_secret() == "demo-api-key"


def test_the_admin_page_never_shows_the_secret(client, team):
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    response = client.get(f"/admin/sharing/team/{team.pk}/change/")
    assert response.status_code == 200
    assert "demo-api-key" not in response.text
    assert team.secret_encrypted not in response.text
    assert 'name="new_secret"' in response.text


def test_the_admin_form_replaces_the_secret_and_keeps_it_when_left_empty(client, team):
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    url = f"/admin/sharing/team/{team.pk}/change/"
    form = {
        "name": "Acme",
        "slug": "acme",
        "auth_kind": "rackspace-apikey",
        "identity_url": "https://identity.example.com",
        "username": "acme-admin",
        "project": "",
        "domain": "Default",
        "tenant_id": "100001",
        "regions": '["IAD"]',
        "default_region": "IAD",
        "tenant_format": "rackspace",
        "approval_policy": "members",
        "new_secret": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    assert client.post(url, form).status_code == 302
    assert Team.objects.get(pk=team.pk).get_secret() == "demo-api-key"
    assert client.post(url, {**form, "new_secret": "rotated-key"}).status_code == 302
    assert Team.objects.get(pk=team.pk).get_secret() == "rotated-key"
