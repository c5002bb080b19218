"""The cloud module: the only code that speaks HTTP to a cloud.

It takes explicit arguments, returns small dataclasses and raises `CloudError` subclasses.
`http.session_factory` is the seam where the built-in cloud is mounted.
"""

from .errors import (
    AlreadyMember,
    AuthenticationFailed,
    BadRequest,
    CloudError,
    Forbidden,
    InvalidMarker,
    MemberLimitReached,
    NoResponse,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
    UnknownOutcome,
)
from .http import Attempts, HttpPolicy
from .identity import (
    AUTH_KINDS,
    Auth,
    CloudAccount,
    MemoryTokenCache,
    TokenCache,
    authenticate,
    get_auth,
)
from .images import (
    MEMBER_STATUSES,
    ApiVersions,
    Image,
    ImageResult,
    ImagesClient,
    Member,
    MemberResult,
    Page,
    Receipt,
)
from .tenants import TENANT_FORMATS, validate_tenant_id

__all__ = [
    "AUTH_KINDS",
    "MEMBER_STATUSES",
    "TENANT_FORMATS",
    "AlreadyMember",
    "Attempts",
    "ApiVersions",
    "Auth",
    "AuthenticationFailed",
    "BadRequest",
    "CloudAccount",
    "CloudError",
    "Forbidden",
    "HttpPolicy",
    "InvalidMarker",
    "Image",
    "ImageResult",
    "ImagesClient",
    "Member",
    "MemberLimitReached",
    "MemberResult",
    "MemoryTokenCache",
    "NoResponse",
    "NotFound",
    "Page",
    "RateLimited",
    "Receipt",
    "TokenCache",
    "Unauthorized",
    "Unavailable",
    "UnknownOutcome",
    "authenticate",
    "get_auth",
    "validate_tenant_id",
]
