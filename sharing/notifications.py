"""E-mails about access requests and expiring shares, in plain text and HTML.

Services call these after the change they announce is committed, never inside a transaction.
Delivery failures are logged, never shown to the person who clicked.
"""

import logging
import unicodedata
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from sharing.models import AccessRequest, Line, LineVersion, Partner, Role, Share, Team

log = logging.getLogger(__name__)


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def admin_emails(team: Team, *, exclude: Iterable[int] = ()) -> list[str]:
    users = get_user_model().objects.filter(
        memberships__team=team, memberships__role=Role.ADMIN, is_active=True
    )
    return sorted({u.email for u in users.exclude(pk__in=list(exclude)) if u.email})


SUBJECT_MAX = 200


def single_line(text: str, limit: int = SUBJECT_MAX) -> str:
    """Header-safe text: control, line and paragraph separators become spaces, runs of
    whitespace one space, and it is cut to `limit` characters. Image names come from the
    cloud and may hold CR/LF, which an e-mail header refuses."""
    cleaned = "".join(
        " " if unicodedata.category(char) in {"Cc", "Zl", "Zp"} else char for char in text
    )
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _send(template: str, recipients: list[str], context: dict) -> bool:
    """Build and send one e-mail; False if delivery failed (it is logged), True otherwise,
    also when there is nobody to send it to."""
    if not recipients:
        return True
    subject = single_line(render_to_string(f"email/{template}_subject.txt", context))
    text = render_to_string(f"email/{template}.txt", context)
    html = render_to_string(f"email/{template}.html", context)

    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, recipients)
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except OSError:  # smtplib's errors are OSErrors too
        log.exception("Could not send the %s e-mail to %s", template, recipients)
        return False
    return True


def _request_context(access_request: AccessRequest) -> dict:
    team = access_request.team
    return {
        "request": access_request,
        "team": team,
        "request_url": absolute(reverse("request", args=[team.slug, access_request.pk])),
        "status_url": absolute(reverse("outside_status", args=[access_request.status_token])),
    }


def new_request(access_request: AccessRequest) -> None:
    """To the team's admins, but not to the requester (who cannot decide it anyway)."""
    exclude = [access_request.requested_by_id] if access_request.requested_by_id else []
    recipients = admin_emails(access_request.team, exclude=exclude)
    _send("new_request", recipients, _request_context(access_request))


def decision(access_request: AccessRequest) -> None:
    """To the requester: a team user's address, or the outside requester's."""
    user = access_request.requested_by
    email = user.email if user is not None else access_request.requester_email
    _send("decision", [email] if email else [], _request_context(access_request))


def share_failed(access_request: AccessRequest) -> None:
    _send("share_failed", admin_emails(access_request.team), _request_context(access_request))


def expiry_reminder(team: Team, shares: list[Share]) -> bool:
    """False if it could not be sent: the caller tries again on its next run."""
    context = {
        "team": team,
        "shares": shares,
        "history_url": absolute(reverse("history", args=[team.slug])),
    }
    return _send("expiry_reminder", admin_emails(team), context)


def outside_confirmation(access_request: AccessRequest) -> None:
    """To an outside requester: we got it, and the private link to follow it."""
    _send(
        "outside_confirmation", [access_request.requester_email], _request_context(access_request)
    )


def _partner_contacts(team: Team, tenants: Iterable[str]) -> list[str]:
    found = Partner.objects.filter(team=team, tenant__in=list(tenants)).exclude(contact_email="")
    return sorted(set(found.values_list("contact_email", flat=True)))


def line_published(line: Line, version: LineVersion, tenants: list[str]) -> None:
    """To the contacts of the partners that got the new version."""
    context = {"team": line.team, "line": line, "version": version}
    _send("line_published", _partner_contacts(line.team, tenants), context)


def line_deprecated(line: Line, version: LineVersion, tenants: list[str]) -> None:
    """To the contacts of the subscribed partners: what replaces it, and until when."""
    context = {"team": line.team, "line": line, "version": version}
    _send("line_deprecated", _partner_contacts(line.team, tenants), context)


def webhook_disabled(team: Team, context: dict) -> None:
    """A webhook endpoint was disabled after failing for days: the team's admins are told."""
    link = absolute(reverse("webhooks", args=[team.slug]))
    _send("webhook_disabled", admin_emails(team), {"team": team, "link": link, **context})
