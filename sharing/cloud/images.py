"""Glance v2 images and members: calls that return dataclasses and raise `CloudError`s.

Everything from the cloud is untrusted: every field but an image's `id` may be missing or of
the wrong type, and unknown fields are ignored (docs/glance.md §3.3).
"""

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import requests

from . import http
from .errors import (
    AlreadyMember,
    BadRequest,
    CloudError,
    Forbidden,
    InvalidMarker,
    MemberLimitReached,
    NoResponse,
    NotFound,
    Unauthorized,
    Unavailable,
    UnknownOutcome,
    error_from_response,
    request_id_of,
)
from .identity import Auth, CloudAccount, TokenCache, get_auth

log = logging.getLogger(__name__)

MEMBER_STATUSES = ("pending", "accepted", "rejected")
JSON_PATCH = "application/openstack-images-v2.1-json-patch"
# Base properties the dashboard has no use for (docs/glance.md §3.3). Any key that is neither
# one of these nor a field of `Image` and holds a string is an extra property.
_IGNORED_KEYS = frozenset(
    {"virtual_size", "checksum", "os_hash_algo", "os_hash_value", "os_hidden", "self", "file"}
    | {"schema", "locations", "direct_url", "stores"}
)


@dataclass(frozen=True)
class Image:
    id: str
    name: str | None = None
    status: str | None = None
    visibility: str | None = None
    owner: str | None = None
    size: int | None = None
    disk_format: str | None = None
    container_format: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    protected: bool | None = None
    min_disk: int | None = None
    min_ram: int | None = None
    tags: tuple[str, ...] = ()
    properties: dict[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def from_api(cls, data: object) -> "Image":
        if not isinstance(data, dict) or not _str(data.get("id")):
            raise ValueError("an image without an id")
        tags = data.get("tags")
        return cls(
            id=data["id"],
            name=_name(data.get("name")),
            status=_str(data.get("status")),
            visibility=_str(data.get("visibility")),
            owner=_str(data.get("owner")),
            size=_int(data.get("size")),
            disk_format=_str(data.get("disk_format")),
            container_format=_str(data.get("container_format")),
            created_at=_time(data.get("created_at")),
            updated_at=_time(data.get("updated_at")),
            protected=data.get("protected") if isinstance(data.get("protected"), bool) else None,
            min_disk=_int(data.get("min_disk")),
            min_ram=_int(data.get("min_ram")),
            tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
            properties={
                key: value
                for key, value in data.items()
                if key not in _IGNORED_KEYS and key not in _FIELDS and isinstance(value, str)
            },
        )


_FIELDS = frozenset(f.name for f in fields(Image))


@dataclass(frozen=True)
class Member:
    image_id: str
    member_id: str
    status: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, data: object) -> "Member":
        if not isinstance(data, dict):
            raise ValueError("a member that is not an object")
        member_id = data.get("member_id")
        # Glance echoes the member as it was sent, a number included
        # (docs/glance-observed.md row 66).
        if isinstance(member_id, int) and not isinstance(member_id, bool):
            member_id = str(member_id)
        if not isinstance(member_id, str) or not member_id or not _str(data.get("image_id")):
            raise ValueError("a member without member_id or image_id")
        return cls(
            image_id=data["image_id"],
            member_id=member_id,
            status=_str(data.get("status")),
            created_at=_time(data.get("created_at")),
            updated_at=_time(data.get("updated_at")),
        )


@dataclass(frozen=True)
class Page:
    items: list[Image]
    next_marker: str | None
    next_url: str | None


@dataclass(frozen=True)
class ApiVersions:
    current: tuple[int, int]
    supports_shared_visibility: (
        bool  # v2.5+: only `shared` images take members (docs/glance.md §2.10)
    )


# Notes for people on outcomes the client inferred; what they mean is `inferred`.
EARLIER_TRY_APPLIED = "An earlier try was applied: the member is gone."
CHECKED_GONE = "Checked after the answer was lost: it is gone."


@dataclass(frozen=True)
class Receipt:
    """What the ledger keeps of a mutation. `inferred`: the answer itself did not say the
    outcome, the client established it (a check after a lost answer); `note` says how."""

    http_status: int | None
    request_id: str | None
    note: str = ""
    inferred: bool = False


@dataclass(frozen=True)
class ImageResult:
    image: Image
    http_status: int | None
    request_id: str | None


@dataclass(frozen=True)
class MemberResult:
    """`created` is False when the tenant already was a member (409) or for a status update.

    `inferred` when the create's answer did not say it and a read of the member did (no
    answer, a 5xx, a 413); `http_status` is then the create's, or None when it got no answer,
    and `request_id` the read's if the create's is unknown.
    """

    member: Member
    created: bool
    http_status: int | None
    request_id: str | None
    inferred: bool = False


class ImagesClient:
    """The images API of one account in one region.

    Authenticates through the token cache, lazily: building a client does no I/O, so a failed
    authentication surfaces from the first call, inside the caller's error handling. On a 401 it
    authenticates again once and repeats the call (the token expired or was revoked:
    docs/glance.md §4.2).
    """

    def __init__(
        self,
        account: CloudAccount,
        region: str,
        *,
        session: requests.Session | None = None,
        policy: http.HttpPolicy | None = None,
        token_cache: TokenCache | None = None,
        auth: Auth | None = None,
    ) -> None:
        self.account = account
        self.region = region
        self.session = session or http.session_factory()
        self.policy = policy
        self.token_cache = token_cache
        self._auth: Auth | None = auth

    @property
    def auth(self) -> Auth:
        """The token and catalog, from the cache or the identity service on first use."""
        if self._auth is None:
            self._auth = get_auth(self.account, session=self.session, cache=self.token_cache)
        return self._auth

    @property
    def root(self) -> str:
        """The image service's root URL in this region (from the catalog)."""
        return self.auth.root_for(self.region)

    def fork(self) -> "ImagesClient":
        """The same account and policy on a session of its own, for another thread (a requests
        Session is not thread-safe). Close it when done: `with client.fork() as other: ...`."""
        return ImagesClient(
            self.account, self.region, session=http.session_factory(), policy=self.policy,
            token_cache=self.token_cache, auth=self.auth,
        )  # fmt: skip

    @property
    def tenant_id(self) -> str:
        """The project this client acts as: the owner of its images, the member of others'."""
        return self.auth.tenant_id

    # Versions and images

    def versions(self) -> ApiVersions:
        # `GET /versions` answers 200 and `GET /` 300; both carry the list (docs/glance.md §1).
        body = self._json(self._call("GET", self.root + "/versions"))
        found = [
            _version_number(v.get("id")) for v in _list(body, "versions") if isinstance(v, dict)
        ]
        served = [v for v in found if v is not None and v[0] == 2]
        if not served:
            raise self._malformed("the versions document lists no v2 version")
        current = max(served)
        return ApiVersions(current=current, supports_shared_visibility=current >= (2, 5))

    def list_images(
        self,
        *,
        visibility: str | None = None,
        member_status: str | None = None,
        owner: str | None = None,
        name: str | None = None,
        status: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        marker: str | None = None,
        properties: dict[str, str] | None = None,
    ) -> Page:
        """One page of images; `properties` filters on extra properties (`?image_line=web`)."""
        filters = {
            **(properties or {}),
            "visibility": visibility,
            "member_status": member_status,
            "owner": owner,
            "name": name,
            "status": status,
            "sort": sort,
            "limit": limit,
            "marker": marker,
        }
        query = urlencode({key: value for key, value in filters.items() if value is not None})
        url = self.root + "/v2/images" + (f"?{query}" if query else "")
        try:
            return self._page(url)
        # An unknown or hidden marker: 400 in Glance (docs/glance.md §3.1); some deployments,
        # and the built-in cloud for another project's image, answer 403.
        except (BadRequest, Forbidden) as error:
            if marker is None:
                raise
            raise InvalidMarker(
                error.message, status=error.status, request_id=error.request_id
            ) from error

    def iter_images(self, **filters) -> Iterator[Image]:
        """Every image, following `next` until it is absent.

        Stop on a missing `next`, not on a short page: when the total is a multiple of the page
        size the last page is empty (docs/glance.md §3.2).
        """
        page = self.list_images(**filters)
        yield from page.items
        while page.next_url:
            url = page.next_url
            page = self._page(url)
            if page.next_url == url:
                raise self._malformed("the next page link does not advance")
            yield from page.items

    def get_image(self, image_id: str) -> Image:
        return self._image(self._call("GET", self._image_url(image_id)))

    def make_image_shared(self, image_id: str) -> ImageResult:
        """Switch the image to `shared` so it can take members (v2.5+, docs/glance.md §2.10)."""
        with _unanswered_is_unknown():
            response = self._call(
                "PATCH",
                self._image_url(image_id),
                json=[{"op": "replace", "path": "/visibility", "value": "shared"}],
                headers={"Content-Type": JSON_PATCH},
            )
        return ImageResult(self._image(response), response.status_code, request_id_of(response))

    def update_image_properties(
        self, image_id: str, changes: dict[str, str | None], *, current: Image | None = None
    ) -> ImageResult:
        """Set (a string) or remove (None) extra properties of an image with one JSON-patch
        (`add` sets whether or not the property exists; `remove` only what exists, since
        Glance answers 409 for a property it does not have: docs/glance.md §3.5).

        Reads the image first (unless the caller just read it: `current`), and sends nothing
        when it already says what `changes` says.
        The outcome of an unanswered or refused PATCH is checked by reading the image again:
        what it shows then is the result.
        """
        image = current if current is not None and current.id == image_id else None
        image = image or self.get_image(image_id)
        operations = _property_patch(image.properties, changes)
        if not operations:
            return ImageResult(image, None, None)
        try:
            response = self._call(
                "PATCH", self._image_url(image_id), json=operations,
                headers={"Content-Type": JSON_PATCH},
            )  # fmt: skip
        except (Unavailable, AlreadyMember) as error:
            # A lost answer, or a retried `remove` that the first try already applied (409).
            return self._settle_properties(image_id, changes, error)
        return ImageResult(self._image(response), response.status_code, request_id_of(response))

    def _settle_properties(
        self, image_id: str, changes: dict[str, str | None], cause: CloudError
    ) -> ImageResult:
        try:
            image = self.get_image(image_id)
        except CloudError as error:
            raise UnknownOutcome(
                f"{cause.message} Whether the image's properties changed could not be "
                "checked; the next check will tell.",
                status=cause.status,
                request_id=cause.request_id,
            ) from error
        if _property_patch(image.properties, changes):
            if _may_be_in_flight(cause):
                raise UnknownOutcome(
                    f"{cause.message} The image's properties have not changed yet, but the "
                    "request may still arrive; the next check will tell.",
                    status=cause.status,
                    request_id=cause.request_id,
                ) from cause
            raise cause
        return ImageResult(image, cause.status, cause.request_id)

    # Members

    def list_members(self, image_id: str) -> list[Member]:
        body = self._json(self._call("GET", self._members_url(image_id)))
        return [self._member_of(item) for item in _list(body, "members")]

    def get_member(self, image_id: str, member_id: str) -> Member:
        response = self._call("GET", self._member_url(image_id, member_id))
        return self._member_of(self._json(response))

    def create_member(self, image_id: str, member_id: str) -> MemberResult:
        """Share the image with a tenant. Never retried blindly: a POST is not idempotent.

        Raises UnknownOutcome when the POST may have been applied and a read of the member
        cannot confirm it either way (docs/glance.md, "Outcomes").
        """
        try:
            response = self._call("POST", self._members_url(image_id), json={"member": member_id})
        except AlreadyMember as error:
            # 409: already shared; report the member as it is (docs/glance.md).
            existing = self.get_member(image_id, member_id)
            return MemberResult(existing, False, error.status, error.request_id)
        except MemberLimitReached as error:
            # Glance checks the quota before the duplicate, so a full image answers 413 even
            # for a tenant that is already a member: that one is "already shared", not a failure.
            try:
                existing = self.get_member(image_id, member_id)
            except NotFound:
                raise error from None
            return MemberResult(existing, False, error.status, error.request_id, inferred=True)
        except Unavailable as error:
            # No answer, or a 5xx: the create may have been applied all the same.
            return self._settle_create(image_id, member_id, error)
        member = self._member_of(self._json(response))
        return MemberResult(member, True, response.status_code, request_id_of(response))

    def update_member_status(self, image_id: str, member_id: str, status: str) -> MemberResult:
        """Accept, reject or reset our membership of another account's image (docs/glance.md).

        A PUT is retried; when no try was answered it may have been applied: UnknownOutcome.
        """
        if status not in MEMBER_STATUSES:
            raise ValueError(f"A member status is one of {', '.join(MEMBER_STATUSES)}.")
        url = self._member_url(image_id, member_id)
        with _unanswered_is_unknown():
            response = self._call("PUT", url, json={"status": status})
        member = self._member_of(self._json(response))
        return MemberResult(member, False, response.status_code, request_id_of(response))

    def delete_member(self, image_id: str, member_id: str) -> Receipt:
        """Remove a member. The DELETE is retried; its outcome is settled from evidence when
        the answers do not say it (docs/glance.md, "Outcomes"):

        - a 404 after an earlier try that may have been applied is success (ours removed it);
        - no answer at all, or a 5xx after the retries, or any refusal after an earlier try
          that may have been applied: read the member; gone is success, still there is a
          failure when the cloud answered, and unknown when a try may be in flight.
        """
        attempts = http.Attempts()
        url = self._member_url(image_id, member_id)
        try:
            response = self._call("DELETE", url, attempts=attempts)
        except NotFound as error:
            if not attempts.earlier_may_have_applied:
                raise
            return Receipt(error.status, error.request_id, EARLIER_TRY_APPLIED, inferred=True)
        except Unavailable as error:
            return self._settle_delete(image_id, member_id, error, attempts)
        except CloudError as error:
            # A refusal (a 429 or 413 after the retries) tells nothing of an earlier try.
            if not attempts.earlier_may_have_applied:
                raise
            return self._settle_delete(image_id, member_id, error, attempts)
        return Receipt(response.status_code, request_id_of(response))

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "ImagesClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Internals

    def _settle_create(self, image_id: str, member_id: str, cause: Unavailable) -> MemberResult:
        """The create was not answered, or answered 5xx: read the member to know."""
        try:
            response = self._call("GET", self._member_url(image_id, member_id))
        except NotFound as error:
            if not _may_be_in_flight(cause):
                raise Unavailable(
                    f"{cause.message} The image was not shared with {member_id}; try again.",
                    status=cause.status,
                    request_id=cause.request_id or error.request_id,
                ) from cause
            # The POST may still be on its way to the cloud: a 404 now is not final.
            raise UnknownOutcome(
                f"{cause.message} {member_id} is not a member yet, but the request may still "
                "arrive; the next check will tell.",
                status=cause.status,
                request_id=cause.request_id,
            ) from cause
        except CloudError as error:
            raise UnknownOutcome(
                f"{cause.message} Whether the image is now shared with {member_id} could not "
                "be checked; the next check will tell.",
                status=cause.status,
                request_id=cause.request_id,
            ) from error
        member = self._member_of(self._json(response))
        # The receipt is the create's when it was answered (a 5xx), else the settling read's.
        request_id = cause.request_id or request_id_of(response)
        return MemberResult(member, True, cause.status, request_id, inferred=True)

    def _settle_delete(
        self, image_id: str, member_id: str, cause: CloudError, attempts: http.Attempts
    ) -> Receipt:
        try:
            self.get_member(image_id, member_id)
        except NotFound:
            return Receipt(cause.status, cause.request_id, CHECKED_GONE, inferred=True)
        except CloudError as error:
            raise UnknownOutcome(
                f"{cause.message} Whether {member_id} was removed could not be checked; the "
                "next check will tell.",
                status=cause.status,
                request_id=cause.request_id,
            ) from error
        if _may_be_in_flight(cause) or attempts.unanswered:
            raise UnknownOutcome(
                f"{cause.message} {member_id} is still a member, but the request may still "
                "arrive; the next check will tell.",
                status=cause.status,
                request_id=cause.request_id,
            ) from cause
        raise cause

    def _call(self, method: str, url: str, **kwargs) -> requests.Response:
        response = self._send(method, url, **kwargs)
        if response.status_code == 401:
            # The token expired or was revoked before its `expires` (docs/glance.md §4.2).
            self._auth = get_auth(
                self.account, session=self.session, force=True, cache=self.token_cache
            )
            response = self._send(method, url, **kwargs)
            if response.status_code == 401:
                raise Unauthorized(
                    f"The cloud rejected the credentials of {self.account.username}, even "
                    "after authenticating again.",
                    status=401,
                    request_id=request_id_of(response),
                )
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def _send(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, **kwargs
    ) -> requests.Response:
        headers = {"X-Auth-Token": self.auth.token, **(headers or {})}
        return http.send(self.session, method, url, policy=self.policy, headers=headers, **kwargs)

    def _page(self, url: str) -> Page:
        body = self._json(self._call("GET", url))
        items = []
        for item in _list(body, "images"):
            try:
                items.append(Image.from_api(item))
            except ValueError:
                log.warning("Skipped an image without an id in %s", self.root)
        link = body.get("next")
        if not isinstance(link, str) or not link:
            return Page(items, None, None)
        # `next` is root-relative (/v2/images?...): join by concatenation, because the root
        # may carry a path of its own (docs/glance.md §1); and the token never goes to a host
        # a link names.
        marker = parse_qs(urlsplit(link).query).get("marker", [None])[-1]
        return Page(items, marker, self.root + link)

    def _image(self, response: requests.Response) -> Image:
        try:
            return Image.from_api(self._json(response))
        except ValueError as error:
            raise self._malformed(str(error), response) from error

    def _member_of(self, data: object) -> Member:
        try:
            return Member.from_api(data)
        except ValueError as error:
            raise self._malformed(str(error)) from error

    def _json(self, response: requests.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise self._malformed("the answer is not a JSON object", response)
        return body

    def _malformed(self, what: str, response: requests.Response | None = None) -> CloudError:
        return CloudError(
            f"The cloud answered something the dashboard cannot read ({what}).",
            status=response.status_code if response is not None else None,
            request_id=request_id_of(response) if response is not None else None,
        )

    def _image_url(self, image_id: str) -> str:
        return f"{self.root}/v2/images/{quote(image_id, safe='')}"

    def _members_url(self, image_id: str) -> str:
        return self._image_url(image_id) + "/members"

    def _member_url(self, image_id: str, member_id: str) -> str:
        return f"{self._members_url(image_id)}/{quote(member_id, safe='')}"


def _property_patch(current: dict[str, str], changes: dict[str, str | None]) -> list[dict]:
    """The JSON-patch operations that make `current` say what `changes` says."""
    operations: list[dict] = []
    for key, value in changes.items():
        path = "/" + key.replace("~", "~0").replace("/", "~1")
        if value is None and key in current:
            operations.append({"op": "remove", "path": path})
        elif value is not None and current.get(key) != value:
            operations.append({"op": "add", "path": path, "value": value})
    return operations


def _list(body: dict, key: str) -> list:
    value = body.get(key)
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _name(value: object) -> str | None:
    """A name as text a database can store: PostgreSQL refuses NUL, so it becomes U+FFFD."""
    text = _str(value)
    return text.replace("\x00", "\ufffd") if text else text


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _version_number(value: object) -> tuple[int, int] | None:
    """`v2.15` -> (2, 15); `v2` -> (2, 0)."""
    match = re.fullmatch(r"v(\d+)(?:\.(\d+))?", value, re.ASCII) if isinstance(value, str) else None
    return (int(match[1]), int(match[2] or 0)) if match else None


# 502 and 504 come from a proxy that gave up waiting: the cloud behind it may still act.
_GATEWAY_STATUSES = frozenset({502, 504})


def _may_be_in_flight(cause: CloudError) -> bool:
    """Whether the request may still reach, or be processed by, the cloud after we stopped
    waiting: no answer once it was sent, or a gateway's 502/504."""
    if isinstance(cause, NoResponse):
        return cause.sent
    return cause.status in _GATEWAY_STATUSES


@contextmanager
def _unanswered_is_unknown() -> Iterator[None]:
    """A mutation that was sent and never answered may have been applied."""
    try:
        yield
    except NoResponse as error:
        if not error.sent:
            raise
        raise UnknownOutcome(
            f"{error.message} Whether the change was made could not be checked; the next check "
            "will tell."
        ) from error
