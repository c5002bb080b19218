"""The ledger is append-only: in the model everywhere, and in the database on PostgreSQL."""

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from sharing.models import Action, AppendOnlyError, LedgerEntry, Outcome
from sharing.services import ledger_attempt


@pytest.fixture
def entry(team, alice):
    return ledger_attempt(team=team, actor=alice, action=Action.SHARE, tenant="100002")


def test_an_attempt_is_saved_before_it_has_an_outcome(entry):
    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert stored.outcome is None
    assert stored.actor_name == "alice"


def test_an_attempt_can_be_completed_once(entry):
    entry.complete(Outcome.SUCCEEDED, http_status=200, request_id="req-1")
    entry.note = "changed my mind"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.complete(Outcome.FAILED)
    assert LedgerEntry.objects.get(pk=entry.pk).outcome == Outcome.SUCCEEDED


def test_entries_cannot_be_deleted_one_by_one_or_in_bulk(entry):
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.update(note="x")
    assert LedgerEntry.objects.count() == 1


def test_the_actor_name_survives_the_user(entry, alice):
    entry.complete(Outcome.SUCCEEDED)
    alice.delete()
    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert stored.actor is None
    assert stored.actor_name == "alice"


def test_the_admin_shows_entries_read_only(client, entry, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/sharing/ledgerentry/").status_code == 200
    page = client.get(f"/admin/sharing/ledgerentry/{entry.pk}/change/")
    assert page.status_code == 200
    assert 'name="note"' not in page.text
    assert "Delete" not in page.text
    assert client.get("/admin/sharing/ledgerentry/add/").status_code == 403


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL only"
)


def _raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.postgres
@postgres_only
def test_the_database_refuses_to_change_a_completed_entry(entry):
    entry.complete(Outcome.SUCCEEDED)
    with pytest.raises((IntegrityError, InternalError), match="cannot change"):
        _raw("UPDATE sharing_ledgerentry SET note = %s WHERE id = %s", ["forged", entry.pk])


@pytest.mark.postgres
@postgres_only
def test_the_database_refuses_to_delete_an_entry(entry):
    with pytest.raises((IntegrityError, InternalError), match="never deleted"):
        _raw("DELETE FROM sharing_ledgerentry WHERE id = %s", [entry.pk])


@pytest.mark.postgres
@postgres_only
def test_the_database_lets_an_attempt_get_its_outcome(entry):
    _raw("UPDATE sharing_ledgerentry SET outcome = %s WHERE id = %s", ["succeeded", entry.pk])
    assert LedgerEntry.objects.get(pk=entry.pk).outcome == Outcome.SUCCEEDED


@pytest.mark.postgres
@postgres_only
def test_the_database_refuses_to_clear_the_actor_together_with_another_change(entry):
    entry.complete(Outcome.SUCCEEDED)
    with pytest.raises((IntegrityError, InternalError), match="cannot change"):
        _raw(
            "UPDATE sharing_ledgerentry SET actor_id = NULL, note = %s WHERE id = %s",
            ["forged", entry.pk],
        )


def test_an_unknown_entry_is_settled_once_and_then_is_final(entry):
    entry.complete(Outcome.UNKNOWN, message="The cloud did not answer.")
    assert entry.open

    assert entry.settle(Outcome.SUCCEEDED, "The member is there.") is True
    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert (stored.outcome, stored.settlement) == (Outcome.SUCCEEDED, "The member is there.")
    assert stored.message == "The cloud did not answer."  # what the user was told stays
    assert not stored.open
    assert stored.settle(Outcome.FAILED, "Changed my mind.") is False
    assert LedgerEntry.objects.get(pk=entry.pk).outcome == Outcome.SUCCEEDED


def test_a_succeeded_or_failed_entry_cannot_be_settled(entry):
    entry.complete(Outcome.FAILED)
    assert entry.settle(Outcome.SUCCEEDED, "forged") is False
    assert LedgerEntry.objects.get(pk=entry.pk).outcome == Outcome.FAILED


def test_a_completion_that_comes_after_a_settlement_loses(entry):
    late = LedgerEntry.objects.get(pk=entry.pk)  # the slow request's copy
    assert entry.settle(Outcome.FAILED, "Not there after five minutes.") is True
    assert late.complete(Outcome.SUCCEEDED, http_status=201) is False
    assert LedgerEntry.objects.get(pk=entry.pk).outcome == Outcome.FAILED


@pytest.mark.postgres
@postgres_only
def test_the_database_lets_an_unknown_entry_be_settled_once(entry):
    entry.complete(Outcome.UNKNOWN)
    settle = (
        "UPDATE sharing_ledgerentry SET outcome = %s, settlement = %s, settled_at = now() "
        "WHERE id = %s"
    )
    _raw(settle, ["succeeded", "The member is there.", entry.pk])
    assert LedgerEntry.objects.get(pk=entry.pk).outcome == Outcome.SUCCEEDED
    with pytest.raises((IntegrityError, InternalError), match="cannot change"):
        _raw(settle, ["failed", "again", entry.pk])


@pytest.mark.postgres
@postgres_only
def test_the_database_refuses_a_settlement_that_changes_anything_else(entry):
    entry.complete(Outcome.UNKNOWN)
    with pytest.raises((IntegrityError, InternalError), match="cannot change"):
        _raw(
            "UPDATE sharing_ledgerentry SET outcome = 'succeeded', settled_at = now(), "
            "note = %s WHERE id = %s",
            ["forged", entry.pk],
        )


@pytest.mark.postgres
@postgres_only
def test_the_database_refuses_to_settle_a_succeeded_entry(entry):
    entry.complete(Outcome.SUCCEEDED)
    with pytest.raises((IntegrityError, InternalError), match="cannot change"):
        _raw(
            "UPDATE sharing_ledgerentry SET outcome = 'failed', settled_at = now() WHERE id = %s",
            [entry.pk],
        )
