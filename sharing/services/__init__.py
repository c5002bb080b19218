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
    image_share_requests,
    request_link_revoke,
    request_link_rotate,
)
from .errors import ApplicationError, ImageIsPrivate
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
from .settling import SETTLE_AFTER, attempts_settle
from .shares import ShareOutcome, image_make_shared, image_share, share_is_direct, share_revoke
from .sync import shares_sync
from .tokens import api_token_check, api_token_create, api_token_revoke
from .upkeep import shares_expire, shares_remind, team_reconcile, team_time_limits

__all__ = [
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
    "ShareOutcome",
    "access_request_approve",
    "access_request_can_decide",
    "access_request_cancel",
    "access_request_create",
    "access_request_reject",
    "access_requests_expire",
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
    "request_link_revoke",
    "request_link_rotate",
    "share_is_direct",
    "share_revoke",
    "shares_expire",
    "shares_remind",
    "shares_sync",
    "team_reconcile",
    "team_time_limits",
]
