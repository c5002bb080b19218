"""The API's ledger checks: verification of a team's chain, its signed checkpoint, and the
public key that signs checkpoints (docs/design.md, "A ledger an auditor can verify")."""

from django.http import HttpRequest
from ninja import Field, Schema, Status

from sharing import services
from sharing.models import Role

from . import schemas as s
from .auth import membership_for
from .endpoints import api


class ProblemOut(Schema):
    kind: str = Field(description="edited, deleted, inserted, reordered or cut")
    entry: int | None = Field(description="the entry's id, where one is concerned")
    link: int | None = Field(description="the link's place in the chain, where one is concerned")
    detail: str


class VerificationOut(Schema):
    ok: bool
    entries: int
    links: int
    head: str = Field(description="hash of the newest link that verified")
    problem: ProblemOut | None = Field(description="the first problem found, in chain order")


class CheckpointOut(Schema):
    team: str
    seq: int = Field(description="the number of links the checkpoint vouches for")
    head: str
    entries: int
    at: str
    key_id: str
    signature: str = Field(description="Ed25519 over the other fields, as canonical JSON")


class LedgerKeyOut(Schema):
    algorithm: str
    key_id: str
    public_key: str = Field(description="the raw 32-byte Ed25519 public key, base64")


@api.get(
    "/teams/{team}/history/verify",
    response={**s.PROBLEMS, 200: VerificationOut, 409: VerificationOut},
    tags=["history"],
    summary="Verify the team's ledger: 200 when whole, 409 naming the first problem",
)
def history_verify(request: HttpRequest, team: str):
    found = membership_for(request, team, Role.AUDITOR).team
    result = services.ledger_verify(team=found)
    problem = result.problem
    body = {
        "ok": result.ok,
        "entries": result.entries,
        "links": result.links,
        "head": result.head,
        "problem": problem
        and {
            "kind": problem.kind,
            "entry": problem.entry_id,
            "link": problem.seq,
            "detail": problem.detail,
        },
    }
    return Status(200 if result.ok else 409, body)


@api.post(
    "/teams/{team}/history/checkpoint",
    response={201: CheckpointOut, **s.PROBLEMS},
    tags=["history"],
    summary="Sign a checkpoint of the ledger now; keep it to verify against later",
)
def history_checkpoint(request: HttpRequest, team: str):
    found = membership_for(request, team, Role.AUDITOR).team
    return Status(201, services.checkpoint_document(services.ledger_checkpoint_create(team=found)))


@api.get(
    "/ledger-key",
    response={200: LedgerKeyOut},
    auth=None,
    tags=["history"],
    summary="The public key that signs ledger checkpoints",
)
def ledger_key(request: HttpRequest):
    return services.public_key_document()
