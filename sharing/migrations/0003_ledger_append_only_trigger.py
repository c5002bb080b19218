"""On PostgreSQL the database itself keeps the ledger append-only (docs/design.md, "The ledger").

Allowed: INSERT; the UPDATE that gives an unresolved attempt its outcome; and, on a completed
entry, only clearing `actor_id` when the user is deleted (the name snapshot stays). Refused:
any other UPDATE of a completed entry, and every DELETE.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION sharing_ledger_append_only() RETURNS trigger AS $$
DECLARE
    unchanged sharing_ledgerentry;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger entries are never deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.outcome IS NOT NULL THEN
        IF NEW.actor_id IS NULL THEN
            unchanged := NEW;
            unchanged.actor_id := OLD.actor_id;
            IF unchanged IS NOT DISTINCT FROM OLD THEN
                RETURN NEW;  -- ON DELETE SET NULL of the actor
            END IF;
        END IF;
        RAISE EXCEPTION 'a completed ledger entry cannot change'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sharing_ledger_append_only
    BEFORE UPDATE OR DELETE ON sharing_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION sharing_ledger_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS sharing_ledger_append_only ON sharing_ledgerentry;
DROP FUNCTION IF EXISTS sharing_ledger_append_only();
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("sharing", "0002_ledger_and_shares")]

    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
