"""`Idempotency-Key` on mutations: a repeat with the same key and request gets the first
answer, and the work (and its cloud calls) happens once.

The key is claimed by inserting a row before the work starts; the database's unique
constraint on (token, key) makes exactly one of two concurrent requests the owner. The other
gets a 409 while the first is still working (as the IETF draft on the header says), and the
stored answer afterwards. Answers are kept for KEEP, except a 503 (try again later), which frees
the key for the retry; a key used again with a different method, path or body is a 409.
"""

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from sharing.cloud import CloudError
from sharing.models import ApiToken, IdempotencyRecord
from sharing.services import ApplicationError

from .problems import cloud_problem, invalid, problem, rule_problem

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
# A claim still without an answer after this was left by a process that died mid-request
# (requests end long before: a worker's timeout is seconds): its key is free again.
ABANDONED = timedelta(minutes=10)
MAX_KEY_LENGTH = 255
# Answers that tell the client to try again: not kept, or the retry would get them forever.
RETRY_STATUSES = {503}


def idempotent(request: HttpRequest, work: Callable[[], HttpResponse]) -> HttpResponse:
    """Run `work` once per token and key. Our own errors become problems inside, so a failure
    is an answer like any other and is repeated, not retried, for the same key; except a 503,
    whose point is that the client tries again."""
    key = request.headers.get(HEADER)
    if key is None:
        return _answer(work)
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        return invalid({HEADER: [f"Between 1 and {MAX_KEY_LENGTH} characters."]})
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    fingerprint = _fingerprint(request)
    record, claimed = _claim(token, key, fingerprint)
    if not claimed:
        return _repeat(record, fingerprint)
    answered = False
    try:
        response = _answer(work)
        if response.status_code not in RETRY_STATUSES:
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                status_code=response.status_code,
                body=response.content.decode(),
                content_type=response["Content-Type"],
            )
            answered = True
        return response
    finally:
        if not answered:
            # "Try again later", or a bug stopped the work: free the key, so that sending the
            # same request again does the work again. Every mutation here is safe to repeat
            # (a tenant already a member is reported as such, a member already gone as 404).
            IdempotencyRecord.objects.filter(pk=record.pk).delete()


def _answer(work: Callable[[], HttpResponse]) -> HttpResponse:
    try:
        return work()
    except ApplicationError as error:
        return rule_problem(error)
    except CloudError as error:
        return cloud_problem(error)


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path()):
        digest.update(part.encode() + b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def _claim(token: ApiToken, key: str, fingerprint: str) -> tuple[IdempotencyRecord, bool]:
    """The new record (claimed) or the one already there."""
    now = timezone.now()
    IdempotencyRecord.objects.filter(token=token).filter(
        Q(created_at__lt=now - KEEP) | Q(status_code=None, created_at__lt=now - ABANDONED)
    ).delete()
    while True:
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    token=token, key=key, fingerprint=fingerprint
                )
            return record, True
        except IntegrityError:
            found = IdempotencyRecord.objects.filter(token=token, key=key).first()
            if found is not None:
                return found, False
            # Freed in between by a failed first attempt: claim it again.


def _repeat(record: IdempotencyRecord, fingerprint: str) -> HttpResponse:
    if record.fingerprint != fingerprint:
        return problem(
            409,
            f"This {HEADER} was used for a different request; use a new key for a new request.",
            kind="idempotency-key-reused",
            title="Idempotency key reused",
        )
    if record.status_code is None:
        response = problem(
            409,
            f"A request with this {HEADER} is still being processed; repeat it in a moment.",
            kind="idempotency-in-progress",
            title="Request in progress",
        )
        response["Retry-After"] = "1"
        return response
    response = HttpResponse(
        record.body, status=record.status_code, content_type=record.content_type
    )
    response["Idempotent-Replayed"] = "true"
    return response
