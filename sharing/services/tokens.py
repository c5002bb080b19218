"""Personal API tokens: made, checked on every API call, revoked."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from sharing.models import ApiToken, Membership, Team

from .errors import ApplicationError

# A recognisable start, so secret scanners and people can tell what a leaked string is.
TOKEN_PREFIX = "isd_"
PREFIX_LENGTH = 12
# Writing `last_used_at` on every call would make each read a write; a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(
    *, user: User, team: Team, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for a member of the team; returns it with its secret, which is not kept."""
    if not Membership.objects.filter(user_id=user.pk, team=team).exists():
        raise ApplicationError(f"{user.get_username()} is not a member of {team.name}.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        team=team,
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        digest=token_digest(secret),
        expires_at=expires_at,
    )
    return token, secret


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=timezone.now())
    token.refresh_from_db()


def api_token_check(*, secret: str) -> ApiToken | None:
    """The live token with this secret, or None (unknown, revoked, expired, inactive user)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user", "team").filter(digest=token_digest(secret)).first()
    )
    now = timezone.now()
    if token is None or not token.is_usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
