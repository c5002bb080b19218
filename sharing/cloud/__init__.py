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
    MemberLimitReached,
    NoResponse,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
    UnknownOutcome,
)
from .http import HttpPolicy
from .identity import AUTH_KINDS, Auth, CloudAccount, authenticate, get_auth
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
    connect,
)
from .tenants import TENANT_FORMATS, validate_tenant_id

__all__ = [
    "AUTH_KINDS",
    "MEMBER_STATUSES",
    "TENANT_FORMATS",
    "AlreadyMember",
    "ApiVersions",
    "Auth",
    "AuthenticationFailed",
    "BadRequest",
    "CloudAccount",
    "CloudError",
    "Forbidden",
    "HttpPolicy",
    "Image",
    "ImageResult",
    "ImagesClient",
    "Member",
    "MemberLimitReached",
    "MemberResult",
    "NoResponse",
    "NotFound",
    "Page",
    "RateLimited",
    "Receipt",
    "Unauthorized",
    "Unavailable",
    "UnknownOutcome",
    "authenticate",
    "connect",
    "get_auth",
    "validate_tenant_id",
]
