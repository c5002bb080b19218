"""Signed checkpoints of each team's chain (docs/design.md, "A ledger an auditor can verify").

A checkpoint states a team's head hash and chain length at a moment, signed with Ed25519
(`LEDGER_SIGNING_KEY`). An auditor keeps the JSON document outside the database; verifying
the chain against it later shows whether links were cut from the end since, which the chain
alone cannot tell.
"""

import base64
import hashlib
import json
from datetime import datetime, timedelta
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.utils import timezone

from sharing.models import LedgerCheckpoint, LedgerEntry, LedgerLink, Team

from .chain import Problem, ledger_head

CHECKPOINT_EVERY = timedelta(days=1)


@cache
def _private_key(raw: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(raw))


def signing_key() -> Ed25519PrivateKey:
    return _private_key(settings.LEDGER_SIGNING_KEY)


def public_key_bytes(key: Ed25519PublicKey | None = None) -> bytes:
    key = key or signing_key().public_key()
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:16]


def public_key_document() -> dict[str, str]:
    raw = public_key_bytes()
    return {
        "algorithm": "Ed25519",
        "key_id": key_id(raw),
        "public_key": base64.b64encode(raw).decode(),
    }


def _signed_part(document: dict) -> bytes:
    fields = {k: document[k] for k in ("team", "seq", "head", "entries", "at", "key_id")}
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def checkpoint_document(checkpoint: LedgerCheckpoint) -> dict:
    return {
        "team": checkpoint.team.slug,
        "seq": checkpoint.seq,
        "head": checkpoint.head,
        "entries": checkpoint.entries,
        "at": checkpoint.created_at.isoformat(),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def ledger_checkpoint_create(*, team: Team) -> LedgerCheckpoint:
    """Sign the team's head as it is now."""
    seq, head = ledger_head(team)
    checkpoint = LedgerCheckpoint(
        team=team, seq=seq, head=head, entries=LedgerEntry.objects.filter(team=team).count(),
        created_at=timezone.now(), key_id=key_id(public_key_bytes()),
    )  # fmt: skip
    document = checkpoint_document(checkpoint)
    checkpoint.signature = base64.b64encode(signing_key().sign(_signed_part(document))).decode()
    checkpoint.save()
    return checkpoint


def ledger_checkpoint_if_due(*, team: Team, now: datetime | None = None) -> str:
    """The daily checkpoint, if the last one is a day old; a line for the worker log."""
    now = now or timezone.now()
    last = LedgerCheckpoint.objects.filter(team=team).order_by("-created_at").first()
    if last is not None and now - last.created_at < CHECKPOINT_EVERY:
        return "checkpoint not due"
    checkpoint = ledger_checkpoint_create(team=team)
    return f"checkpoint at link {checkpoint.seq}"


class CheckpointError(Exception):
    """A checkpoint document that cannot be trusted: malformed, or its signature fails."""


def checkpoint_read(document: object, public_key: bytes | None = None) -> dict:
    """The checkpoint, once its form and signature are checked (with the configured key, or
    `public_key`, raw bytes, for an auditor checking with the key the dashboard published)."""
    if not isinstance(document, dict):
        raise CheckpointError("A checkpoint is a JSON object.")
    try:
        signed = _signed_part(document)
        signature = base64.b64decode(str(document["signature"]), validate=True)
        int(document["seq"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(
            "The checkpoint lacks team, seq, head, entries, at, key_id or signature."
        ) from None
    key = Ed25519PublicKey.from_public_bytes(public_key or public_key_bytes())
    try:
        key.verify(signature, signed)
    except InvalidSignature:
        raise CheckpointError("The checkpoint's signature does not verify with this key.") from None
    return document


def checkpoint_compare(*, team: Team, document: dict) -> Problem | None:
    """Whether the chain still holds the link the checkpoint vouches for, unchanged."""
    seq = int(document["seq"])
    if seq == 0:
        return None
    link = LedgerLink.objects.filter(team=team, seq=seq).values_list("hash", flat=True).first()
    if link is None:
        length, _ = ledger_head(team)
        return Problem(
            "cut", None, seq,
            f"The checkpoint of {document['at']} vouches for {seq} links; the chain has "
            f"{length}: entries were cut from the end.",
        )  # fmt: skip
    if link != document["head"]:
        return Problem(
            "reordered", None, seq,
            f"Link #{seq} differs from the checkpoint of {document['at']}: the chain was "
            "rewritten since.",
        )  # fmt: skip
    return None
