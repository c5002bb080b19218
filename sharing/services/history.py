"""Exports of the history: each is an entry of the ledger itself, and names the head of the
chain it was cut at, so an auditor can tell later which entries it could have held."""

from django.contrib.auth.models import User
from django.db import transaction

from sharing.models import Action, Team

from .chain import ledger_head
from .ledger import ledger_record


def history_export_record(
    *, team: Team, actor: User | None, what: str, filters: dict
) -> tuple[int, str]:
    """Record an export (the CSV, a page of the API's history); return (links, head hash)."""
    shown = ", ".join(f"{key}={value}" for key, value in sorted(filters.items()) if value)
    with transaction.atomic():
        ledger_record(
            team=team, actor=actor, action=Action.EXPORT, note=f"{what}: {shown or 'everything'}"
        )
        return ledger_head(team)
