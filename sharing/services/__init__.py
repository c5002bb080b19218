"""Business rules, one module per subject; the public functions are re-exported here, so
callers import them as `from sharing.services import image_share`.

Services are keyword-only functions named entity then action. They own transactions, row
locks and ledger writes (through `ledger`, the one writer of entries), and raise
`ApplicationError` for rule violations or the cloud module's `CloudError`s. Wording for
people lives in `sharing.wording`, not here.
"""

from .access_requests import (
    access_request_approve,
    access_request_can_decide,
    access_request_cancel,
    access_request_create,
    access_request_reject,
    access_requests_expire,
    access_requests_settle,
    image_share_requests,
    request_link_revoke,
    request_link_rotate,
)
from .chain import Problem, Verification, ledger_head, ledger_verify
from .checkpoints import (
    CheckpointError,
    checkpoint_compare,
    checkpoint_document,
    checkpoint_read,
    ledger_checkpoint_create,
    ledger_checkpoint_if_due,
    public_key_document,
)
from .errors import ApplicationError, ImageIsPrivate, JustificationNeeded
from .history import history_export_record
from .incoming import INCOMING_ACTIONS, incoming_set_status
from .ledger import channel, ledger_attempt, ledger_record
from .lines import (
    InvalidInput,
    PublishResult,
    RevokeResult,
    channel_move,
    line_create,
    line_publish,
    line_subscription_request,
    lines_discover,
    lines_expire,
    subscriber_add,
    subscriber_remove,
    version_deprecate,
    version_restore,
)
from .policy import (
    RequestsFiled,
    SharedDirectly,
    ShareRoute,
    share_or_request,
    share_route,
    share_route_check,
)
from .settling import SETTLE_AFTER, attempts_settle
from .shares import ShareOutcome, image_make_shared, image_share, share_revoke
from .signin import RoleChange, sso_roles_apply
from .sync import shares_sync
from .teams import (
    partner_create,
    partner_delete,
    request_link_images_set,
    team_settings_update,
)
from .tokens import api_token_check, api_token_create, api_token_revoke
from .trust import (
    RuleExists,
    incoming_sync,
    rule_summary,
    trust_rule_create,
    trust_rule_delete,
)
from .upkeep import shares_expire, shares_remind, team_reconcile, team_time_limits

__all__ = [
    "RoleChange",
    "sso_roles_apply",
    "CheckpointError",
    "Problem",
    "Verification",
    "checkpoint_compare",
    "checkpoint_document",
    "checkpoint_read",
    "history_export_record",
    "ledger_checkpoint_create",
    "ledger_checkpoint_if_due",
    "ledger_head",
    "ledger_verify",
    "public_key_document",
    "InvalidInput",
    "PublishResult",
    "RevokeResult",
    "channel_move",
    "line_create",
    "line_publish",
    "line_subscription_request",
    "lines_discover",
    "lines_expire",
    "subscriber_add",
    "subscriber_remove",
    "version_deprecate",
    "version_restore",
    "INCOMING_ACTIONS",
    "SETTLE_AFTER",
    "ApplicationError",
    "ImageIsPrivate",
    "JustificationNeeded",
    "RequestsFiled",
    "ShareOutcome",
    "ShareRoute",
    "SharedDirectly",
    "access_request_approve",
    "access_request_can_decide",
    "access_request_cancel",
    "access_request_create",
    "access_request_reject",
    "access_requests_expire",
    "access_requests_settle",
    "api_token_check",
    "api_token_create",
    "api_token_revoke",
    "attempts_settle",
    "channel",
    "image_make_shared",
    "image_share",
    "image_share_requests",
    "incoming_set_status",
    "ledger_attempt",
    "ledger_record",
    "partner_create",
    "partner_delete",
    "request_link_images_set",
    "request_link_revoke",
    "request_link_rotate",
    "share_or_request",
    "share_revoke",
    "share_route",
    "share_route_check",
    "shares_expire",
    "shares_remind",
    "shares_sync",
    "team_reconcile",
    "team_settings_update",
    "team_time_limits",
    "RuleExists",
    "incoming_sync",
    "rule_summary",
    "trust_rule_create",
    "trust_rule_delete",
]
