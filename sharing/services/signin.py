"""Team roles from single sign-on (docs/design.md, "Sign-in").

For a user who signs in through the organisation's provider, the provider is the truth: at
every sign-in their memberships become exactly what its groups say, so a group removed there
is a role removed here at the next sign-in. Each change is a ledger entry of the team, written
as the system (the provider decided, not the person signing in).
"""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from sharing.models import Action, Membership, Team

from .ledger import ledger_record


@dataclass(frozen=True)
class RoleChange:
    team: Team
    before: str  # "" when the user was not in the team
    after: str  # "" when the user no longer is


def sso_roles_apply(*, user: User, roles: dict[str, str]) -> list[RoleChange]:
    """Set the user's memberships to `roles` (team slug → role); teams the dashboard does not
    have are ignored. Returns the changes, each recorded in its team's ledger."""
    with transaction.atomic():
        current = {
            m.team.slug: m
            for m in Membership.objects.select_for_update().select_related("team").filter(user=user)
        }
        changes = [_update(m, roles.get(slug, "")) for slug, m in current.items()]
        for team in Team.objects.filter(slug__in=set(roles) - set(current)):
            Membership.objects.create(user=user, team=team, role=roles[team.slug])
            changes.append(RoleChange(team=team, before="", after=roles[team.slug]))
        done = [change for change in changes if change.before != change.after]
        for change in done:
            ledger_record(
                team=change.team, actor=None, action=Action.ROLE_CHANGE, note=_note(user, change)
            )
    return done


def _update(membership: Membership, role: str) -> RoleChange:
    change = RoleChange(team=membership.team, before=membership.role, after=role)
    if not role:
        membership.delete()
    elif role != membership.role:
        membership.role = role
        membership.save(update_fields=["role"])
    return change


def _note(user: User, change: RoleChange) -> str:
    return (
        f"{user.get_username()}: {change.before or 'no role'} → {change.after or 'no role'}, "
        "from the identity provider's groups at sign-in."
    )
