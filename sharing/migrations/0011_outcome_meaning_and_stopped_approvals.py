"""Meaning in fields, and approvals that stopped half-way (docs/design.md, "Settling outcomes").

- `LedgerEntry.basis` (`inferred`): the client inferred the outcome (a read after a lost
  answer, a retry's 404), rather than the cloud answering this very call. `LedgerEntry.drift`: what a
  sync found (`gone`, `added`, `status`). Settling used to read both from the entries' words;
  existing entries are filled from those words here. Neither field can change afterwards:
  they are part of the entry. On PostgreSQL the append-only trigger refuses any change to a
  completed entry, so it is switched off for these two UPDATEs only, inside this migration's
  transaction, and on again before it commits.
- `AccessRequest.sharing_since`: an approval under way, or whose share's outcome is not yet
  final. Existing requests whose status does not follow their share's final outcome (an
  approval that stopped before its share was tried, or whose outcome was unknown) get it, so
  the upkeep settles them.
"""

from django.db import migrations, models
from django.db.models import Q

INFERRED_WORDS = ("An earlier try", "Checked after")
DRIFT_WORDS = {
    "gone": "No longer a member",
    "added": "A member added outside",
    "status": "The tenant set its status",
}
TRIGGER = "ALTER TABLE sharing_ledgerentry {} TRIGGER sharing_ledger_append_only"


def _fill_entries(apps, schema_editor):
    entries = apps.get_model("sharing", "LedgerEntry").objects
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(TRIGGER.format("DISABLE"))
    said = Q()
    for words in INFERRED_WORDS:
        said |= Q(message__startswith=words)
    # A create whose answer was lost or refused but the member was there: read, not answered.
    read = Q(action="share", outcome="succeeded", settled_at=None) & ~Q(
        http_status__in=[200, 201, 409]
    )
    entries.filter(said | read).update(basis="inferred")
    for kind, words in DRIFT_WORDS.items():
        entries.filter(action="drift", message__startswith=words).update(drift=kind)
    if postgres:
        schema_editor.execute(TRIGGER.format("ENABLE"))


def _mark_requests(apps, schema_editor):
    requests = apps.get_model("sharing", "AccessRequest").objects
    entries = apps.get_model("sharing", "LedgerEntry").objects
    for request in requests.filter(status__in=["approved", "failed"]).exclude(decided_at=None):
        latest = (
            entries.filter(access_request_id=request.pk, action__in=["share", "approve"])
            .order_by("-created_at", "-id")
            .first()
        )
        if latest is not None and _due(request, latest):
            request.sharing_since = min(request.decided_at, latest.created_at)
            request.save(update_fields=["sharing_since"])


def _due(request, latest) -> bool:
    if latest.action == "approve":
        return request.status == "approved"  # stopped before its share was tried
    if latest.outcome is None or (latest.outcome == "unknown" and latest.settled_at is None):
        return True  # the share's outcome is still to come
    was_unknown = latest.settled_at is not None and latest.completed_at != latest.settled_at
    shared = latest.outcome == "succeeded"
    return was_unknown or shared != (request.status == "approved")


class Migration(migrations.Migration):
    dependencies = [
        ("sharing", "0010_reminder_claim"),
    ]

    operations = [
        migrations.AddField(
            model_name="accessrequest",
            name="sharing_since",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="drift",
            field=models.CharField(
                blank=True,
                choices=[
                    ("gone", "Removed outside the dashboard"),
                    ("added", "Added outside the dashboard"),
                    ("status", "Status changed by the tenant"),
                ],
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="basis",
            field=models.CharField(
                blank=True, choices=[("inferred", "Inferred by the client")], max_length=10
            ),
        ),
        migrations.AddIndex(
            model_name="accessrequest",
            index=models.Index(
                condition=models.Q(("sharing_since__isnull", False)),
                fields=["team", "sharing_since"],
                name="request_sharing",
            ),
        ),
        migrations.RunPython(_fill_entries, migrations.RunPython.noop),
        migrations.RunPython(_mark_requests, migrations.RunPython.noop),
    ]
