"""Webhooks: signed event deliveries to a team's endpoints (docs/design.md, "Webhooks").

Events are written to an outbox in the transaction of the ledger outcome they report
(`outbox.record`), and delivered by the task worker (`tasks.deliver_webhooks`).
"""
