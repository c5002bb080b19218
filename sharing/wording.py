"""What the dashboard says about cloud failures, in plain words, for pages, e-mails and the API.

One plain sentence of what it means, the upstream detail where it adds something, and the
upstream request id for whoever opens a ticket with the cloud's operator.
"""

from sharing.cloud import (
    BadRequest,
    CloudError,
    Forbidden,
    MemberLimitReached,
    NoResponse,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
    UnknownOutcome,
)

_LEAD_INS: list[tuple[type[CloudError], str]] = [
    (MemberLimitReached, "The image has reached its member limit."),
    (RateLimited, "The cloud is limiting requests; try again in a minute."),
    (UnknownOutcome, "The cloud did not confirm it yet; the next check will tell."),
    (NoResponse, "The cloud did not answer."),
    (Unavailable, "The cloud is unavailable right now; try again later."),
    (Unauthorized, "The team's cloud credentials no longer work; ask a superuser to update them."),
    (Forbidden, "The cloud refused this."),
    (NotFound, "The cloud does not know this."),
    (BadRequest, "The cloud did not accept the request."),
]
# Their upstream text is boilerplate ("The server is currently unavailable. Please try
# again..."): the lead-in says it all.
_LEAD_ONLY = (RateLimited, MemberLimitReached)


def first_sentence(text: str) -> str:
    text = " ".join(text.split())
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def error_text(error: CloudError) -> str:
    """A cloud error in plain words, what it means first, with the upstream request id."""
    lead = next((text for kind, text in _LEAD_INS if isinstance(error, kind)), "")
    detail = first_sentence(error.message)
    generic = type(error) is Unavailable or isinstance(error, _LEAD_ONLY)
    if not lead:
        text = detail
    elif generic or not detail or detail in lead:
        text = lead
    else:
        text = f"{lead} {detail}"
    return f"{text} (request {error.request_id})" if error.request_id else text


def error_message(error: Exception) -> str:
    """A cloud error in plain words; a rule that stopped an action (the services'
    `ApplicationError`) already carries its message for the user."""
    if isinstance(error, CloudError):
        return error_text(error)
    return str(getattr(error, "message", error))
