from sharing.models import ApprovalPolicy, Team


def test_an_admin_changes_the_policy_and_limits(client, alice, cloud):
    client.force_login(alice)
    response = client.post(
        "/t/acme/settings/",
        {
            "approval_policy": "everyone",
            "max_share_days": "90",
            "request_expiry_days": "7",
            "reminder_days": "2",
        },
        follow=True,
    )
    assert "Team settings saved" in response.text
    team = Team.objects.get(slug="acme")
    assert (team.approval_policy, team.max_share_days) == (ApprovalPolicy.EVERYONE, 90)


def test_bad_values_are_explained(client, alice, cloud):
    client.force_login(alice)
    response = client.post(
        "/t/acme/settings/",
        {"approval_policy": "nobody", "max_share_days": "0", "request_expiry_days": "x"},
    )
    errors = response.context["form"].errors
    assert {"approval_policy", "max_share_days", "request_expiry_days"} <= set(errors)


def test_members_cannot_open_settings(client, bob, cloud):
    client.force_login(bob)
    assert client.get("/t/acme/settings/").status_code == 403
    assert client.post("/t/acme/settings/link/rotate/").status_code == 403
