"""A team's own settings: its partner directory, its approval policy and limits, and the
images its public request link offers. None of these is a ledger action (the ledger records
shares, requests and decisions); each is one place for the browser and any other caller."""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from sharing.models import Partner, Team

from .errors import ApplicationError

TEAM_SETTINGS = [
    "approval_policy", "max_share_days", "request_expiry_days", "reminder_days", "time_zone",
    "second_factor_required",
]  # fmt: skip


def _full_clean(instance: models.Model, fields: list[str]) -> None:
    """The model's own checks of `fields` (the rest was checked when it was saved before)."""
    others = [f.name for f in instance._meta.get_fields() if f.name not in fields]
    try:
        instance.full_clean(exclude=others, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages)) from None


def partner_create(
    *, team: Team, actor: User | None, name: str, tenant: str, notes: str = ""
) -> Partner:
    """Add a named tenant to the directory; a tenant already in it is refused."""
    partner = Partner(team=team, name=name, tenant=tenant, notes=notes, added_by=actor)
    _full_clean(partner, ["name", "tenant", "notes"])
    try:
        with transaction.atomic():
            partner.save()
    except IntegrityError:  # added by someone else since the form checked
        raise ApplicationError(f"{tenant} is already in the directory.") from None
    return partner


def partner_delete(*, partner: Partner) -> None:
    """Remove a name from the directory; the tenant's shares and requests stay."""
    partner.delete()


def team_settings_update(
    *,
    team: Team,
    approval_policy: str,
    max_share_days: int,
    request_expiry_days: int,
    reminder_days: int,
    time_zone: str,
    second_factor_required: bool | None = None,
) -> Team:
    """The approval policy and limits, and whether the team's pages need a second factor
    (None: unchanged). A new policy applies to the next *Share*; requests already filed stay
    as they are."""
    team.approval_policy = approval_policy
    team.max_share_days = max_share_days
    team.request_expiry_days = request_expiry_days
    team.reminder_days = reminder_days
    team.time_zone = time_zone
    if second_factor_required is not None:
        team.second_factor_required = second_factor_required
    _full_clean(team, TEAM_SETTINGS)
    team.save(update_fields=TEAM_SETTINGS)
    return team


def request_link_images_set(*, team: Team, images: list[str]) -> None:
    """The images the public request link offers (IDs, each once, in the given order)."""
    team.request_link_images = list(dict.fromkeys(images))
    team.save(update_fields=["request_link_images"])
