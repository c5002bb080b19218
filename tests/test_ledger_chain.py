"""The ledger as a hash chain: someone with the database in hand edits, deletes, inserts,
swaps or cuts rows, and verification names the first entry touched. On PostgreSQL the
tampering first switches the append-only triggers off, as a database superuser could."""

import base64
import io
import json
import threading
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from sharing import services
from sharing.models import Action, LedgerEntry, LedgerLink, Outcome
from sharing.services.ledger import ledger_complete, ledger_settle

from .conftest import GLOBEX, INITECH, acme_image


def tamper(sql: str, params: tuple = ()) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # triggers off
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def record(team, actor, note: str) -> LedgerEntry:
    return services.ledger_record(team=team, actor=actor, action=Action.REQUEST, note=note)


@pytest.fixture
def entries(team, alice) -> list[LedgerEntry]:
    """Five entries: decisions, an attempt completed, an unknown one settled."""
    first = record(team, alice, "first")
    attempt = services.ledger_attempt(
        team=team, actor=alice, action=Action.SHARE, region="IAD", image_id="img", tenant=GLOBEX
    )
    ledger_complete(attempt, Outcome.UNKNOWN, message="The answer was lost.")
    ledger_settle(attempt, Outcome.SUCCEEDED, "The member is there.")
    return [first, attempt, record(team, alice, "third"), record(team, alice, "fourth")]


def verify(team) -> services.Verification:
    return services.ledger_verify(team=team)


def test_an_untouched_ledger_verifies(entries, team):
    result = verify(team)
    assert result.ok, result.problem
    assert result.entries == 4
    # Four entries written, one completed and then settled.
    assert result.links == 6


def test_shares_revokes_and_settlements_through_the_cloud_keep_the_chain(cloud, team, alice):
    image_id = acme_image(cloud, visibility="shared")
    services.image_share(
        team=team, actor=alice, region="IAD", image_id=image_id, tenants=[GLOBEX, INITECH]
    )
    services.share_revoke(team=team, actor=alice, region="IAD", image_id=image_id, tenant=GLOBEX)
    cloud.add_fault("timeout", route="member_create", after=True, times=1)
    services.image_share(team=team, actor=alice, region="IAD", image_id=image_id, tenants=[GLOBEX])
    services.attempts_settle(team=team, older_than=timedelta(0))

    assert verify(team).ok


def test_an_edited_field_is_named(entries, team):
    tamper("UPDATE sharing_ledgerentry SET note = %s WHERE id = %s", ("changed", entries[2].pk))
    problem = verify(team).problem
    assert problem.kind == "edited"
    assert problem.entry_id == entries[2].pk
    assert f"Entry {entries[2].pk}" in problem.detail


def test_an_edited_outcome_is_named(entries, team):
    tamper("UPDATE sharing_ledgerentry SET outcome = 'failed' WHERE id = %s", (entries[1].pk,))
    assert verify(team).problem.entry_id == entries[1].pk


def test_a_field_emptied_is_named(entries, team):
    tamper("UPDATE sharing_ledgerentry SET tenant = '' WHERE id = %s", (entries[1].pk,))
    assert verify(team).problem.entry_id == entries[1].pk


def test_a_deleted_row_is_named(entries, team):
    tamper("DELETE FROM sharing_ledgerentry WHERE id = %s", (entries[2].pk,))
    problem = verify(team).problem
    assert (problem.kind, problem.entry_id) == ("deleted", entries[2].pk)


def test_a_forged_row_is_named(entries, team):
    tamper(
        "INSERT INTO sharing_ledgerentry (created_at, team_id, actor_name, action, region, "
        "image_id, image_name, tenant, note, outcome, request_id, message, channel, settlement, "
        "basis, drift) VALUES (%s, %s, 'alice', 'share', 'IAD', 'img', '', '100009', 'forged', "
        "'succeeded', '', '', 'web', '', '', '')",
        (timezone.now(), team.pk),
    )
    forged = LedgerEntry.objects.get(note="forged")
    problem = verify(team).problem
    assert (problem.kind, problem.entry_id) == ("inserted", forged.pk)


def test_two_swapped_rows_are_named_at_the_first(entries, team):
    a, b = entries[0], entries[2]
    tamper(
        "UPDATE sharing_ledgerentry SET created_at = CASE id WHEN %s THEN %s ELSE %s END, "
        "note = CASE id WHEN %s THEN %s ELSE %s END WHERE id IN (%s, %s)",
        (a.pk, b.created_at, a.created_at, a.pk, b.note, a.note, a.pk, b.pk),
    )
    problem = verify(team).problem
    assert (problem.kind, problem.entry_id) == ("edited", a.pk)


def test_a_link_removed_from_the_middle_breaks_the_chain(entries, team):
    tamper("DELETE FROM sharing_ledgerlink WHERE team_id = %s AND seq = 3", (team.pk,))
    problem = verify(team).problem
    assert problem.kind == "reordered"
    assert problem.seq == 3


def test_two_links_swapped_break_the_chain(entries, team):
    tamper(
        "UPDATE sharing_ledgerlink SET seq = CASE seq WHEN 2 THEN 1000 WHEN 4 THEN 2 END "
        "WHERE team_id = %s AND seq IN (2, 4)",
        (team.pk,),
    )
    tamper("UPDATE sharing_ledgerlink SET seq = 4 WHERE team_id = %s AND seq = 1000", (team.pk,))
    assert verify(team).problem.seq == 2


def cut_tail(team, entry: LedgerEntry) -> None:
    """Remove the newest entry with its links and wind the head back: the chain alone is whole."""
    links = LedgerLink.objects.filter(team=team, entry_id=entry.pk)
    first = min(links.values_list("seq", flat=True))
    keep = LedgerLink.objects.get(team=team, seq=first - 1)
    tamper("DELETE FROM sharing_ledgerlink WHERE team_id = %s AND seq >= %s", (team.pk, first))
    tamper("DELETE FROM sharing_ledgerentry WHERE id = %s", (entry.pk,))
    tamper(
        "UPDATE sharing_ledgerhead SET seq = %s, hash = %s WHERE team_id = %s",
        (keep.seq, keep.hash, team.pk),
    )


def test_a_cut_tail_passes_the_chain_but_not_a_checkpoint_kept_before(entries, team):
    document = services.checkpoint_document(services.ledger_checkpoint_create(team=team))
    cut_tail(team, entries[-1])

    assert verify(team).ok  # what a checkpoint exists for
    problem = services.checkpoint_compare(team=team, document=document)
    assert problem.kind == "cut"
    assert "cut from the end" in problem.detail


def test_a_tail_rewritten_after_a_checkpoint_is_found(entries, team, alice):
    document = services.checkpoint_document(services.ledger_checkpoint_create(team=team))
    cut_tail(team, entries[-1])
    record(team, alice, "a different fourth")

    assert verify(team).ok
    assert services.checkpoint_compare(team=team, document=document).kind == "reordered"


def test_a_checkpoint_with_a_changed_field_fails_its_signature(entries, team):
    document = services.checkpoint_document(services.ledger_checkpoint_create(team=team))
    services.checkpoint_read(document)  # as signed: fine
    with pytest.raises(services.CheckpointError, match="signature"):
        services.checkpoint_read({**document, "seq": document["seq"] - 1})


def test_a_checkpoint_signed_by_another_key_is_refused(entries, team):
    document = services.checkpoint_document(services.ledger_checkpoint_create(team=team))
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with pytest.raises(services.CheckpointError):
        services.checkpoint_read(document, other)


def test_a_checkpoint_is_made_once_a_day(entries, team):
    now = timezone.now()
    assert services.ledger_checkpoint_if_due(team=team, now=now).startswith("checkpoint at")
    assert services.ledger_checkpoint_if_due(team=team, now=now + timedelta(hours=23)) == (
        "checkpoint not due"
    )
    later = now + timedelta(days=1, minutes=1)
    assert services.ledger_checkpoint_if_due(team=team, now=later).startswith("checkpoint at")


# The command


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_ledger", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_says_ok_for_a_whole_ledger(entries, team):
    out, _ = run("acme")
    assert out.startswith("acme: ok, 4 entries, 6 links")


def test_the_command_fails_naming_the_entry(entries, team):
    tamper("UPDATE sharing_ledgerentry SET note = 'x' WHERE id = %s", (entries[0].pk,))
    err = io.StringIO()
    with pytest.raises(CommandError, match="acme failed verification"):
        call_command("verify_ledger", stderr=err)
    assert f"acme: edited: Entry {entries[0].pk}" in err.getvalue()


def test_the_command_checks_a_kept_checkpoint_with_the_published_key(entries, team, tmp_path):
    out = io.StringIO()
    call_command("ledger_checkpoint", "acme", stdout=out)
    kept = tmp_path / "acme.json"
    kept.write_text(out.getvalue())
    key = services.public_key_document()["public_key"]

    assert run("--checkpoint", str(kept), "--public-key", key)[0].startswith("acme: ok")
    cut_tail(team, entries[-1])
    with pytest.raises(CommandError):
        run("--checkpoint", str(kept), "--public-key", key)


def test_the_command_refuses_a_forged_checkpoint(entries, team, tmp_path):
    out = io.StringIO()
    call_command("ledger_checkpoint", "acme", stdout=out)
    document = json.loads(out.getvalue())
    document["seq"] = 1
    kept = tmp_path / "forged.json"
    kept.write_text(json.dumps(document))
    with pytest.raises(CommandError, match="signature does not verify"):
        run("--checkpoint", str(kept))


def test_the_public_key_verifies_what_the_server_signed(entries, team):
    document = services.checkpoint_document(services.ledger_checkpoint_create(team=team))
    raw = base64.b64decode(services.public_key_document()["public_key"])
    assert services.checkpoint_read(document, raw) == document


# The migration and concurrency


@pytest.mark.django_db(transaction=True)
def test_the_migration_chains_entries_written_before_it(team, alice):
    executor = MigrationExecutor(connection)
    target = [("sharing", "0013_ledger_hash_chain")]
    before = executor.loader.graph.node_map[target[0]].parents
    [previous] = [(node.key[0], node.key[1]) for node in before if node.key[0] == "sharing"]
    executor.migrate([previous])
    executor.loader.build_graph()
    with connection.cursor() as cursor:
        for note in ("old one", "old two"):
            cursor.execute(
                "INSERT INTO sharing_ledgerentry (created_at, team_id, actor_name, action, "
                "region, image_id, image_name, tenant, note, outcome, request_id, message, "
                "channel, settlement, basis, drift) VALUES (%s, %s, 'alice', 'request', '', '', "
                "'', '', %s, 'succeeded', '', '', 'web', '', '', '')",
                (timezone.now(), team.pk, note),
            )
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())

    record(team, alice, "new")
    result = verify(team)
    assert result.ok, result.problem
    assert (result.entries, result.links) == (3, 3)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_sixteen_concurrent_writers_leave_one_valid_chain(team, alice):
    barrier = threading.Barrier(16)
    errors = []

    def write(n: int) -> None:
        try:
            barrier.wait()
            for i in range(5):
                attempt = services.ledger_attempt(
                    team=team, actor=alice, action=Action.SHARE, image_id=f"i{n}", tenant=str(i)
                )
                record(team, alice, f"{n}-{i}")
                ledger_complete(attempt, Outcome.SUCCEEDED)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    result = verify(team)
    assert result.ok, result.problem
    assert (result.entries, result.links) == (160, 240)


def test_a_settlement_from_a_stale_copy_keeps_the_chain_and_the_completion(team, alice):
    """Settling reads an open attempt; before it decides, the attempt's own request completes
    it as unknown. The settlement then lands on the completed entry (found by the fault
    campaign): the chain must follow the row as it is, and its completion time must stay."""
    attempt = services.ledger_attempt(
        team=team, actor=alice, action=Action.SHARE, region="IAD", image_id="img", tenant=GLOBEX
    )
    stale = LedgerEntry.objects.get(pk=attempt.pk)  # what the settling worker read
    ledger_complete(attempt, Outcome.UNKNOWN, http_status=None, message="The answer was lost.")

    assert ledger_settle(stale, Outcome.SUCCEEDED, "The member is there.")

    entry = LedgerEntry.objects.get(pk=attempt.pk)
    assert entry.completed_at == attempt.completed_at
    assert entry.message == "The answer was lost."
    assert verify(team).ok


def test_publishing_a_line_version_keeps_the_chain(cloud, team, alice):
    """A publish writes the line's properties on the image too (found by the fault campaign:
    that completion once bypassed the chain)."""
    image_id = acme_image(cloud, visibility="shared")
    line = services.line_create(team=team, actor=alice, name="Web", slug="web", region="IAD")
    services.subscriber_add(line=line, actor=alice, tenant=GLOBEX)
    services.line_publish(line=line, actor=alice, image_id=image_id)

    assert LedgerEntry.objects.filter(action=Action.LABEL, outcome=Outcome.SUCCEEDED).exists()
    result = verify(team)
    assert result.ok, result.problem
