from sharing.models import Partner

from .conftest import GLOBEX, acme_image


def add(client, **data):
    return client.post("/t/acme/partners/", data, follow=True)


def test_an_admin_adds_a_partner(client, alice):
    client.force_login(alice)
    response = add(client, name="Globex Corp", tenant=GLOBEX, notes="hosting")
    partner = Partner.objects.get()
    assert (partner.name, partner.tenant, partner.added_by) == ("Globex Corp", GLOBEX, alice)
    assert "Globex Corp (100002) added" in response.text


def test_a_bad_or_duplicate_tenant_is_refused_next_to_the_field(client, alice, team):
    Partner.objects.create(team=team, name="Globex", tenant=GLOBEX)
    client.force_login(alice)
    bad = add(client, name="Typo", tenant="10o002")
    assert "not a Rackspace account number" in bad.context["form"].errors["tenant"][0]
    again = add(client, name="Globex again", tenant=GLOBEX)
    assert "already in the directory as Globex" in again.context["form"].errors["tenant"][0]
    assert Partner.objects.count() == 1


def test_everyone_reads_but_only_admins_edit(client, carol, bob, team):
    partner = Partner.objects.create(team=team, name="Globex", tenant=GLOBEX)
    for user in (carol, bob):
        client.force_login(user)
        page = client.get("/t/acme/partners/")
        assert "Globex" in page.text and "Add a partner" not in page.text
        assert add(client, name="X", tenant="100009").status_code == 403
        assert client.post(f"/t/acme/partners/{partner.pk}/delete/").status_code == 403
    assert Partner.objects.count() == 1


def test_an_admin_removes_a_partner(client, alice, team):
    partner = Partner.objects.create(team=team, name="Globex", tenant=GLOBEX)
    client.force_login(alice)
    client.post(f"/t/acme/partners/{partner.pk}/delete/")
    assert not Partner.objects.exists()


def test_partner_names_show_where_tenants_appear(client, alice, cloud, team):
    Partner.objects.create(team=team, name="Globex Corp", tenant=GLOBEX)
    image_id = acme_image(cloud)
    client.force_login(alice)
    client.post(f"/t/acme/images/{image_id}/share/", {"members": GLOBEX})
    assert "Globex Corp" in client.get(f"/t/acme/images/{image_id}/").text
    assert "Globex Corp" in client.get("/t/acme/history/").text


def test_another_teams_partner_cannot_be_removed(client, dave, team):
    partner = Partner.objects.create(team=team, name="Globex", tenant=GLOBEX)
    client.force_login(dave)
    assert client.post(f"/t/umbrella/partners/{partner.pk}/delete/").status_code == 404
    assert Partner.objects.exists()
