"""Errors as `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`, and
for a 400 `errors`, the messages per field. Never an HTML page, never a stack trace.

`type` is `about:blank` when the status says it all, else a path under /api/v1/problems/
naming the problem (listed in docs/api.md).
"""

import json
import logging
import math
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from sharing.cloud import CloudError, NotFound, RateLimited, UnknownOutcome
from sharing.models import Outcome
from sharing.services import ApplicationError, ImageIsPrivate
from sharing.wording import error_text

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def problem(
    status: int, detail: str, *, kind: str = "", title: str = "", **extensions: object
) -> HttpResponse:
    body = {
        "type": f"/api/v1/problems/{kind}" if kind else "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **{name: value for name, value in extensions.items() if value is not None},
    }
    return HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder), status=status, content_type=CONTENT_TYPE
    )


def invalid(errors: Mapping[str, list[str]]) -> HttpResponse:
    fields = ", ".join(errors)
    return problem(
        400, f"Some fields are not valid: {fields}.", kind="invalid", title="Invalid request",
        errors=dict(errors),
    )  # fmt: skip


def cloud_status(error: CloudError) -> int:
    """503 when trying again later could help (the cloud is down, limiting, or has not
    confirmed yet), 404 when the cloud does not know the thing, else 502."""
    if isinstance(error, NotFound):
        return 404
    return 503 if error.retryable else 502


def cloud_problem(error: CloudError, **extensions: object) -> HttpResponse:
    status = cloud_status(error)
    response = problem(
        status,
        error_text(error),
        kind="cloud",
        title="The cloud did not do it" if status != 404 else "The cloud does not know this",
        request_id=error.request_id,
        upstream_status=error.status,
        outcome=Outcome.UNKNOWN if isinstance(error, UnknownOutcome) else Outcome.FAILED,
        **extensions,
    )
    if isinstance(error, RateLimited) and error.retry_after is not None:
        response["Retry-After"] = str(max(1, round(error.retry_after)))
    return response


def rule_problem(error: ApplicationError) -> HttpResponse:
    """A rule stopped the action: the state does not allow it (already shared, already
    decided, one's own request...)."""
    if isinstance(error, ImageIsPrivate):
        return problem(
            409,
            f'{error.message} Send "make_shared": true to switch it to shared and share.',
            kind="image-private",
            title="The image is private",
            image_id=error.image.id,
        )
    return problem(409, error.message, kind="rule", title="Not allowed now")


def validation_errors(exc: ValidationError) -> dict[str, list[str]]:
    """Pydantic's errors by field: the last name in `loc` ("body", "payload", "tenants", 0)."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        names = [str(part) for part in error.get("loc", ()) if isinstance(part, str)]
        field = names[-1] if names and names[-1] not in ("payload", "query") else "body"
        errors.setdefault(field, []).append(error.get("msg", "Not valid."))
    return errors


def install(api: NinjaAPI) -> None:
    """Every error an endpoint can raise, as a problem."""

    @api.exception_handler(ValidationError)
    def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return invalid(validation_errors(exc))

    @api.exception_handler(AuthenticationError)
    def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = problem(
            401,
            "Send a valid API token: `Authorization: Bearer <token>`. Tokens that are expired "
            "or revoked, or whose user left the team, no longer work.",
        )
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    @api.exception_handler(Throttled)
    def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        response = problem(429, "This token sent too many requests; wait before the next one.")
        if exc.wait is not None:
            response["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        return response

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return problem(exc.status_code, exc.message)

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem(404, str(exc) or "Not found.")

    @api.exception_handler(PermissionDenied)
    def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return problem(403, str(exc) or "Your role in this team does not allow this.")

    @api.exception_handler(ApplicationError)
    def _rule(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
        return rule_problem(exc)

    @api.exception_handler(CloudError)
    def _cloud(request: HttpRequest, exc: CloudError) -> HttpResponse:
        return cloud_problem(exc)

    @api.exception_handler(Exception)
    def _bug(request: HttpRequest, exc: Exception) -> HttpResponse:
        # A bug: logged with its traceback for us, a plain problem for the caller. This is the
        # API's last resort, in place of Django's HTML error page.
        logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
        return problem(500, "Something went wrong on our side; it has been logged.")


def not_found_view(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """Any other path under /api/: a problem, not the site's HTML 404 page."""
    return problem(404, "There is no such API path; see /api/v1/docs.")
