"""Glance Images API v2: images and members, with the codes and texts real Glance 33 sends.

Row numbers in comments refer to docs/glance-observed.md, sections (§) to docs/glance.md.
The checks run in Glance's order: request body, image lookup (404), the image's visibility,
then policy (403), because clients see whichever fails first.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cmp_to_key
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from .state import CloudState, Image, Member, isotime, utcnow
from .web import (
    HttpError,
    Request,
    Response,
    glance_error,
    json_response,
    parse_json,
    unsupported_media_type,
)

DEFAULT_LIMIT = 25  # Glance's limit_param_default
MAX_LIMIT = 1000  # api_limit_max: larger limits are cut down silently (docs/glance.md §3.1)
PATCH_MEDIA_TYPE = "application/openstack-images-v2.1-json-patch"
MEMBER_STATUSES = ("pending", "accepted", "rejected")
SORT_KEYS = (
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
)
VISIBILITIES = ("community", "public", "private", "shared")
PRE_OCATA_VISIBILITIES = ("public", "private")
READ_ONLY = frozenset(
    {
        "status",
        "size",
        "virtual_size",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "created_at",
        "updated_at",
        "self",
        "file",
        "schema",
        "direct_url",
        "locations",
        "os_hidden",
    }
)
EDITABLE = (
    "name",
    "visibility",
    "disk_format",
    "container_format",
    "min_disk",
    "min_ram",
    "protected",
    "tags",
)
EXACT_FILTERS = ("name", "status", "owner", "id", "disk_format", "container_format")
# Query parameters that are not filters on image properties.
CONTROL_PARAMS = frozenset(
    {
        "limit",
        "marker",
        "sort",
        "sort_key",
        "sort_dir",
        "visibility",
        "member_status",
        "tag",
        "size_min",
        "size_max",
        "os_hidden",
        *EXACT_FILTERS,
    }
)
NOT_FOUND = "The resource could not be found."
# WebOb's text for a 500, which Glance sends when its code fails (conformance: a list body).
SERVER_ERROR = "The server has either erred or is incapable of performing the requested operation."


@dataclass(frozen=True)
class Caller:
    """Who a token speaks for: its project and roles."""

    tenant_id: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def can_read(self) -> bool:
        return self.is_admin or "reader" in self.roles

    def manages(self, image: Image) -> bool:
        """Policies add_member, delete_member, modify_image: admin or a member of the owner."""
        return self.is_admin or ("member" in self.roles and image.owner == self.tenant_id)


@dataclass(frozen=True)
class Call:
    state: CloudState
    request: Request
    region: str
    caller: Caller
    root: str  # the endpoint root, e.g. http://host/iad/images
    pre_ocata: bool  # Images API before v2.5: no `shared`/`community` visibility
    image_id: str = ""
    member_id: str = ""


# GET /v2/schemas/member and /v2/schemas/members, as Glance 33 serves them (rows 82-83).
_UUID_PATTERN = (
    "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"
)
_MEMBER_PROPERTIES = {
    "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
    "image_id": {
        "type": "string",
        "description": "An identifier for the image",
        "pattern": _UUID_PATTERN,
    },
    "created_at": {"type": "string", "description": "Date and time of image member creation"},
    "updated_at": {
        "type": "string",
        "description": "Date and time of last modification of image member",
    },
    "status": {
        "type": "string",
        "description": "The status of this image member",
        "enum": list(MEMBER_STATUSES),
    },
    "schema": {"readOnly": True, "type": "string"},
}
SCHEMAS = {
    "member": {"name": "member", "properties": _MEMBER_PROPERTIES},
    "members": {
        "name": "members",
        "properties": {
            "members": {
                "type": "array",
                "items": {"name": "member", "properties": _MEMBER_PROPERTIES},
            },
            "schema": {"type": "string"},
        },
        "links": [{"rel": "describedby", "href": "{schema}"}],
    },
}


# The image schemas are Glance 33's own documents, as it serves them with its default
# disk and container formats (saved from the conformance run's real Glance).
_SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
for _name in ("image", "images"):
    SCHEMAS[_name] = json.loads((_SCHEMA_DIR / f"{_name}.json").read_text())


def get_schema(name: str) -> Response:
    return json_response(200, SCHEMAS[name])


def not_authorized(action: str) -> HttpError:
    """The policy layer's own 403, which Glance does not reword (rows 39, 43, 46, 47)."""
    return glance_error(403, f"You are not authorized to complete {action} action.")


# Images


def list_images(call: Call) -> Response:
    if not call.caller.can_read:
        raise not_authorized("get_images")
    query = call.request.query
    # Glance rebuilds links from dict(params): the last value of a repeated key wins.
    params = dict(query)
    limit = _limit(params.get("limit"))
    order = _sort_order(query)
    visibility = _visibility_filter(params.get("visibility") or None, call.pre_ocata)
    member_status = params.get("member_status", "accepted")
    if member_status not in (*MEMBER_STATUSES, "all"):
        raise glance_error(400, f"Invalid status: {member_status}")
    memberships = call.state.memberships(call.caller.tenant_id)
    matches = _filter(params, [v for k, v in query if k == "tag"])
    images = [
        image
        for image in call.state.images(call.region)
        if _listed(call, image, memberships.get(image.id), member_status, visibility)
        and matches(image)
    ]
    compare = _comparator(order)
    images.sort(key=cmp_to_key(compare))
    marker_id = params.get("marker")
    if marker_id:
        marker = _marker(call, marker_id)
        images = [image for image in images if compare(image, marker) > 0]
    page = images[:limit]
    link_params = {key: value for key, value in params.items() if key != "marker"}
    body: dict[str, Any] = {
        "images": [image.to_json() for image in page],
        "first": _link(link_params),
        "schema": "/v2/schemas/images",
    }
    # A full page always has a `next`, so a total that is a multiple of the limit ends with
    # an empty page (docs/glance.md §3.2).
    if page and len(page) == limit:
        body["next"] = _link({**link_params, "marker": page[-1].id})
    return json_response(200, body)


def get_image(call: Call) -> Response:
    image = _visible_image_or_404(call)
    if not call.caller.can_read:
        raise glance_error(404, NOT_FOUND)
    return json_response(200, image.to_json())


def create_image(call: Call) -> Response:
    body = _json_body(call.request)
    if not isinstance(body, dict):
        # Glance 33 fails on a body that is not an object (an AttributeError): 500, not 400.
        raise glance_error(500, SERVER_ERROR)
    for key in body:
        if key in READ_ONLY:
            raise glance_error(403, f"Attribute '{key}' is read-only.")
    caller = call.caller
    if not (caller.is_admin or "member" in caller.roles):
        raise not_authorized("add_image")
    owner = body.pop("owner", None) or caller.tenant_id
    if owner != caller.tenant_id and not caller.is_admin:
        raise glance_error(
            403,
            "Access was denied to this resource.",
            detail=f"You are not permitted to create images owned by '{owner}'",
        )
    # Default `shared` since v2.5, so new images take members at once (docs/glance.md §2.10).
    visibility = body.pop("visibility", "private" if call.pre_ocata else "shared")
    _check_visibility(call, visibility)
    image_id = _new_image_id(call.state, body.pop("id", None))
    now = isotime(utcnow())
    image = Image(
        id=image_id,
        region=call.region,
        owner=owner,
        name=None,
        status="queued",
        visibility=visibility,
        size=None,
        disk_format=None,
        container_format=None,
        protected=False,
        min_disk=0,
        min_ram=0,
        tags=[],
        extra={},
        created_at=now,
        updated_at=now,
    )
    for key, value in body.items():
        image = _set_attribute(image, key, value)
    call.state.insert_image(image)
    location = f"{call.root}/v2/images/{image.id}"
    return json_response(201, image.to_json(), [("Location", location)])


def patch_image(call: Call) -> Response:
    request = call.request
    if request.media_type != PATCH_MEDIA_TYPE:
        accepted = f"application/openstack-images-v2.0-json-patch, {PATCH_MEDIA_TYPE}"
        raise unsupported_media_type(
            request.media_type or None,
            f"Image PATCH expects Content-Type one of: {accepted}",
            [("Accept-Patch", accepted)],
        )
    changes = _patch_operations(_json_body(request))
    image = _visible_image_or_404(call)
    if not call.caller.can_read:
        raise glance_error(404, NOT_FOUND)
    if not call.caller.manages(image):
        raise not_authorized("modify_image")
    for op, attribute, value in changes:
        image = _apply_change(call, image, op, attribute, value)
    image = replace(image, updated_at=isotime(utcnow()))
    call.state.save_image(image)
    return json_response(200, image.to_json())


def delete_image(call: Call) -> Response:
    """Owner (member role) or admin; the members go with the image."""
    image = _find_visible(call, call.image_id)
    if image is None:
        raise glance_error(404, f"Failed to find image {call.image_id} to delete")
    if not call.caller.manages(image):
        raise not_authorized("delete_image")
    if image.protected:
        raise glance_error(403, f"Image {image.id} is protected and cannot be deleted.")
    call.state.delete_image(image.id)
    return _empty_204()


def upload_image_data(call: Call) -> Response:
    """`PUT /v2/images/{id}/file`: a queued image takes its data once and becomes active."""
    media_type = call.request.media_type or None
    if media_type != "application/octet-stream":
        raise unsupported_media_type(media_type, f"Invalid content type {media_type}")
    image = _visible_image_or_404(call)
    if not call.caller.manages(image):
        raise not_authorized("upload_image")
    if image.status != "queued":
        raise glance_error(
            409, f"Image status transition from {image.status} to saving is not allowed"
        )
    if call.state.image_data(image.id) is not None:
        # A queued image that kept the data of a refused upload (below): Glance 33 fails.
        raise glance_error(500, SERVER_ERROR)
    if image.disk_format is None or image.container_format is None:
        raise glance_error(
            400, "Properties disk_format, container_format must be set prior to saving data."
        )
    data = call.request.body
    stored = replace(
        image,
        checksum=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        os_hash_value=hashlib.sha512(data).hexdigest(),
        stores="fs",
    )
    call.state.save_image_data(image.id, data)
    detected = detect_disk_format(data)
    if image.disk_format in INSPECTED_FORMATS and detected != image.disk_format:
        # Glance 33 inspects the data after storing it: the image stays queued, yet keeps the
        # data, its hashes and store (conformance run). Answered, not raised, so that this
        # request's changes are kept.
        call.state.save_image(stored)
        error = unsupported_media_type(
            "application/octet-stream",
            f"Image disk_format {image.disk_format} does not match stream data {detected}",
        )
        return error.response(call.request.headers.get("accept"))
    size = len(data)
    call.state.save_image(
        replace(
            stored,
            status="active",
            size=size,
            # Glance computes the virtual size of formats it reads; raw is the data itself.
            virtual_size=size if image.disk_format == "raw" else None,
            updated_at=isotime(utcnow()),
        )
    )
    return _empty_204()


# Disk formats Glance 33 checks uploaded data against, and how each starts (its magic bytes).
INSPECTED_FORMATS = ("qcow2", "vhd", "vhdx", "vmdk", "vdi", "iso")
_MAGIC: tuple[tuple[str, int, bytes], ...] = (
    ("qcow2", 0, b"QFI\xfb"),
    ("vhdx", 0, b"vhdxfile"),
    ("vhd", 0, b"conectix"),
    ("vmdk", 0, b"KDMV"),
    ("vdi", 0x40, b"\x7f\x10\xda\xbe"),
    ("iso", 0x8001, b"CD001"),
)


def detect_disk_format(data: bytes) -> str:
    """The format the data is in, by its magic bytes; `raw` when none matches."""
    for name, offset, magic in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return name
    return "raw"


def download_image_data(call: Call) -> Response:
    """`GET /v2/images/{id}/file`: the data, or 204 when the image has none (yet)."""
    image = _visible_image_or_404(call)
    if not call.caller.can_read:
        raise glance_error(404, NOT_FOUND)
    data = call.state.image_data(image.id)
    if data is None:
        return Response(204, b"")
    headers = [
        ("Content-Type", "application/octet-stream"),
        ("Content-MD5", image.checksum or ""),
        ("Content-Length", str(len(data))),
    ]
    return Response(200, data, headers)


def _empty_204() -> Response:
    return Response(
        204, b"", [("Content-Type", "text/html; charset=UTF-8"), ("Content-Length", "0")]
    )


# Members


def list_members(call: Call) -> Response:
    image = _member_image(
        call,
        f"Not allowed to list members for image {call.image_id}: Only shared images have members.",
    )
    members = [m.to_json() for m in call.state.members(image.id) if _sees(call, image, m)]
    return json_response(200, {"members": members, "schema": "/v2/schemas/members"})


def create_member(call: Call) -> Response:
    raw_member = _member_body(call.request)
    image = _member_image(call, f"Not allowed to create members for image {call.image_id}.")
    if not call.caller.manages(image):
        raise not_authorized("add_member")  # rows 43, 47
    member_id = raw_member if isinstance(raw_member, str) else str(raw_member)
    limit = call.state.member_limit
    attempted = call.state.member_count(image.id) + 1
    # Glance checks the quota before looking for a duplicate (row 79).
    if 0 <= limit < attempted:
        raise glance_error(
            413,
            f"Image member limit exceeded for image {image.id}: The limit has been exceeded "
            "on the number of allowed image members for this image. "
            f"Attempted: {attempted}, Maximum: {limit}:",
        )
    if call.state.member(image.id, member_id):
        raise glance_error(409, f"Member {member_id} is duplicated for image {image.id}")
    member = call.state.insert_member(image.id, member_id)
    # 200, not 201; and the member id echoed as sent, a number stays a number (rows 66-67).
    return json_response(200, member.to_json(member_id=raw_member))


def get_member(call: Call) -> Response:
    # Every refusal is a 404 here, so that nothing leaks (docs/glance.md §2.7, row 92).
    image = _member_image(call, "Only shared images have members.", forbidden_status=404)
    return json_response(200, _member_or_404(call, image).to_json())


def update_member(call: Call) -> Response:
    status = _status_body(call.request)
    image = _member_image(call, f"Not allowed to update members for image {call.image_id}.")
    member = _member_or_404(call, image)
    # Only the member itself (with the member role) or an admin; never the owner (rows 39, 77).
    caller = call.caller
    if not (caller.is_admin or ("member" in caller.roles and caller.tenant_id == member.member_id)):
        raise not_authorized("modify_member")
    if status not in MEMBER_STATUSES:
        raise glance_error(
            400, 'Incorrect request: Status must be "pending", "accepted" or "rejected".'
        )
    return json_response(200, call.state.set_member_status(member, status).to_json())


def delete_member(call: Call) -> Response:
    image = _member_image(call, f"Not allowed to delete members for image {call.image_id}.")
    member = _member_or_404(call, image)
    if not call.caller.manages(image):
        raise not_authorized("delete_member")  # a member cannot leave a share (row 46)
    call.state.delete_member(member)
    return _empty_204()


# Visibility rules (docs/glance.md §2.10, §3.4)


def _visible(call: Call, image: Image, membership: str | None) -> bool:
    """Glance's is_image_visible: a member sees a shared image whatever its status (row 15)."""
    caller = call.caller
    if caller.is_admin or image.owner == caller.tenant_id:
        return True
    if image.visibility in ("public", "community"):
        return True
    if membership is None:
        return False
    # Before v2.5 members of a private image see it; since, only `shared` images have members.
    return call.pre_ocata or image.visibility == "shared"


def _listed(
    call: Call,
    image: Image,
    membership: str | None,
    member_status: str,
    visibility: str | None,
) -> bool:
    """Whether an image is in a list: public + community + own + shared with me (in status)."""
    caller = call.caller
    mine = image.owner == caller.tenant_id
    shared_with_me = (
        membership is not None
        and member_status in (membership, "all")
        and (call.pre_ocata or image.visibility == "shared")
    )
    candidate = (
        caller.is_admin or mine or image.visibility in ("public", "community") or shared_with_me
    )
    if not candidate:
        return False
    if visibility is None:
        # The default list shows community images only to their owner.
        return image.visibility != "community" or mine
    if visibility == "all":
        return True
    if call.pre_ocata and visibility == "shared":
        return (
            shared_with_me and not mine
        )  # Icehouse: only images shared with me (docs/glance.md §3.4)
    # Current Glance filters the union above, so `shared` also lists my own shared images.
    return image.visibility == visibility


def _find_visible(call: Call, image_id: str) -> Image | None:
    image = call.state.image(image_id)
    if image is None or image.region != call.region:
        return None
    member = call.state.member(image.id, call.caller.tenant_id)
    return image if _visible(call, image, member.status if member else None) else None


def _visible_image_or_404(call: Call) -> Image:
    image = _find_visible(call, call.image_id)
    if image is None:
        raise glance_error(404, f"No image found with ID {call.image_id}")  # rows 64, 93
    return image


def _member_image(call: Call, not_shared: str, *, forbidden_status: int = 403) -> Image:
    """The image of a member call: visible (404), shared (403), and readable (404)."""
    image = _find_visible(call, call.image_id)
    if image is None:
        raise glance_error(404, f"Image {call.image_id} not found.")  # rows 42, 56, 105
    if call.pre_ocata:
        if image.visibility in ("public", "community"):
            raise glance_error(forbidden_status, "Public images do not have members.")
    elif image.visibility != "shared":
        raise glance_error(forbidden_status, not_shared)  # rows 90-92, 100-103
    if not call.caller.can_read:
        raise glance_error(404, NOT_FOUND)  # a token without roles (row 78)
    return image


def _sees(call: Call, image: Image, member: Member) -> bool:
    """The owner (or an admin) sees every member; a member only its own row (row 74)."""
    caller = call.caller
    return (
        caller.is_admin or image.owner == caller.tenant_id or member.member_id == caller.tenant_id
    )


def _member_or_404(call: Call, image: Image) -> Member:
    member = call.state.member(image.id, call.member_id)
    if member is None or not _sees(call, image, member):
        raise glance_error(
            404, f"{call.member_id} not found in the member list of the image {image.id}."
        )  # rows 40, 48, 59
    return member


# Request bodies


def _json_body(request: Request) -> Any:
    if not request.body:
        raise glance_error(400, "Body expected in request.")  # row 55
    return parse_json(request.body)


def _member_body(request: Request) -> Any:
    body = _json_body(request)
    if not isinstance(body, dict):
        raise glance_error(400, 'Expected a member in the form: {"member": "image_id"}')  # row 54
    if "member" not in body:
        raise glance_error(400, "Member to be added not specified")  # rows 50-51
    if not body["member"]:
        raise glance_error(400, "Member can't be empty")  # rows 52-53
    return body["member"]


def _status_body(request: Request) -> Any:
    body = _json_body(request)
    if not isinstance(body, dict):
        raise glance_error(400, 'Expected a status in the form: {"status": "status"}')
    if "status" not in body:
        raise glance_error(400, "Status not specified")  # row 38
    return body["status"]


def _patch_operations(body: Any) -> list[tuple[str, str, Any]]:
    """JSON-patch operations as (op, attribute, value); only top-level paths exist here."""
    if not isinstance(body, list):
        raise glance_error(400, "Request body must be a JSON array of operation objects.")
    changes = []
    for operation in body:
        if not isinstance(operation, dict):
            raise glance_error(400, "Operations must be JSON objects.")
        op = operation.get("op")
        if op not in ("add", "remove", "replace"):
            raise glance_error(
                400,
                f"Invalid operation: `{op}`. It must be one of the following: "
                "add, remove, replace.",
            )
        path = operation.get("path")
        parts = path.split("/") if isinstance(path, str) else []
        if len(parts) != 2 or parts[0] or not parts[1]:
            raise glance_error(400, f"Invalid JSON pointer for this resource: '{path}'")
        if op != "remove" and "value" not in operation:
            raise glance_error(400, "Unable to find `value` in JSON Schema change")
        attribute = parts[1].replace("~1", "/").replace("~0", "~")
        changes.append((op, attribute, operation.get("value")))
    return changes


# Image attributes


def _apply_change(call: Call, image: Image, op: str, attribute: str, value: Any) -> Image:
    if attribute in READ_ONLY or attribute in ("id", "owner"):
        raise glance_error(403, f"Attribute '{attribute}' is read-only.")
    if attribute in EDITABLE:
        if op == "remove":
            raise glance_error(403, f"Attribute '{attribute}' is read-only.")
        if attribute == "visibility":
            _check_visibility(call, value)
        return _set_attribute(image, attribute, value)
    if op != "add" and attribute not in image.extra:
        raise glance_error(409, f"Property {attribute} does not exist.")
    if op == "remove":
        return replace(image, extra={k: v for k, v in image.extra.items() if k != attribute})
    return _set_attribute(image, attribute, value)


def _check_visibility(call: Call, visibility: Any) -> None:
    allowed = list(PRE_OCATA_VISIBILITIES if call.pre_ocata else VISIBILITIES)
    if visibility not in allowed:
        # jsonschema's whole report, as Glance passes it on.
        raise _schema_error(
            f"{visibility!r} is not one of {allowed}\n\n"
            "Failed validating 'enum' in schema['properties']['visibility']:\n"
            "    {'type': 'string',\n"
            "     'description': 'Scope of image accessibility',\n"
            f"     'enum': {allowed}}}\n\n"
            "On instance['visibility']:\n"
            f"    {visibility!r}"
        )
    if visibility == "public" and not call.caller.is_admin:
        raise not_authorized("publicize_image")  # row 98


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "name": lambda v: v is None or (isinstance(v, str) and len(v) <= 255),
    "visibility": lambda v: isinstance(v, str),
    "disk_format": lambda v: v is None or isinstance(v, str),
    "container_format": lambda v: v is None or isinstance(v, str),
    "min_disk": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "min_ram": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "protected": lambda v: isinstance(v, bool),
    "tags": lambda v: isinstance(v, list) and all(isinstance(t, str) for t in v),
}


def _set_attribute(image: Image, key: str, value: Any) -> Image:
    """Set a base attribute (type-checked) or an extra property (a string)."""
    if key in _CHECKS:
        if not _CHECKS[key](value):
            raise _schema_error(f"{value!r} is not a valid value for '{key}'")
        return replace(image, **{key: value})
    if not isinstance(value, str):
        raise _schema_error(f"{value!r} is not of type 'string' (property '{key}')")
    return replace(image, extra={**image.extra, key: value})


def _schema_error(detail: str) -> HttpError:
    return glance_error(400, f"Provided object does not match schema 'image': {detail}")


def _new_image_id(state: CloudState, requested: Any) -> str:
    if requested is None:
        return str(uuid.uuid4())
    try:
        image_id = str(uuid.UUID(str(requested)))
    except ValueError:
        raise _schema_error(f"{requested!r} is not a valid UUID (property 'id')") from None
    if state.image(image_id):
        raise glance_error(409, f"Image with identifier {image_id} already exists!")
    return image_id


# Listing: limit, filters, sorting, marker


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise glance_error(400, "limit param must be an integer") from None
    if limit < 0:
        raise glance_error(400, "limit param must be positive")
    return min(limit, MAX_LIMIT)


def _visibility_filter(visibility: str | None, pre_ocata: bool) -> str | None:
    allowed = ("public", "private", "shared") if pre_ocata else (*VISIBILITIES, "all")
    if visibility is not None and visibility not in allowed:
        raise glance_error(400, f"Invalid visibility value: {visibility}")
    return visibility


def _filter(params: dict[str, str], tags: list[str]) -> Callable[[Image], bool]:
    """A predicate for the exact, size, tag and extra-property filters of a list call."""
    size_min = _int_param(params, "size_min")
    size_max = _int_param(params, "size_max")
    exact = {key: params[key] for key in EXACT_FILTERS if key in params}
    properties = {key: value for key, value in params.items() if key not in CONTROL_PARAMS}
    hidden_only = params.get("os_hidden", "false").lower() == "true"  # none are hidden here

    def matches(image: Image) -> bool:
        if hidden_only:
            return False
        if any(getattr(image, key) != value for key, value in exact.items()):
            return False
        if size_min is not None and (image.size is None or image.size < size_min):
            return False
        if size_max is not None and (image.size is None or image.size > size_max):
            return False
        if not all(tag in image.tags for tag in tags):
            return False
        return all(image.extra.get(key) == value for key, value in properties.items())

    return matches


def _int_param(params: dict[str, str], key: str) -> int | None:
    if key not in params:
        return None
    try:
        return int(params[key])
    except ValueError:
        raise glance_error(400, f"{key} param must be an integer") from None


def _sort_order(query: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(key, direction) pairs from `sort=k:dir,...` or `sort_key`/`sort_dir`, plus tie-breakers.

    Like Glance, `created_at` and `id` are appended in the default direction: `desc`, or the
    only direction given.
    """
    sort = [value for key, value in query if key == "sort"]
    keys = [value for key, value in query if key == "sort_key"]
    dirs = [value for key, value in query if key == "sort_dir"]
    if sort and (keys or dirs):
        raise glance_error(400, "Old and new sorting syntax cannot be combined")
    if sort:
        pairs = [item.partition(":") for item in ",".join(sort).split(",") if item]
        keys = [key.strip() for key, _, _ in pairs]
        dirs = [direction.strip() or "desc" for _, _, direction in pairs]
    keys = keys or ["created_at"]
    default_dir = dirs[0] if len(dirs) == 1 else "desc"
    if len(dirs) <= 1:
        dirs = [default_dir] * len(keys)
    elif len(dirs) != len(keys):
        raise glance_error(400, "Number of sort dirs does not match the number of sort keys")
    for key in keys:
        if key not in SORT_KEYS:
            raise glance_error(
                400,
                f"Invalid sort key: {key}. It must be one of the following: "
                f"{', '.join(SORT_KEYS)}.",
            )
    for direction in dirs:
        if direction not in ("asc", "desc"):
            raise glance_error(400, f"Invalid sort direction: {direction}")
    order = list(zip(keys, dirs, strict=True))
    order += [(key, default_dir) for key in ("created_at", "id") if key not in keys]
    return order


def _comparator(order: list[tuple[str, str]]) -> Callable[[Image, Image], int]:
    def compare(a: Image, b: Image) -> int:
        for key, direction in order:
            x, y = _sortable(getattr(a, key)), _sortable(getattr(b, key))
            if x != y:
                result = -1 if x < y else 1
                return result if direction == "asc" else -result
        return 0

    return compare


def _sortable(value: Any) -> tuple[int, Any]:
    """SQL puts NULLs first in ascending order."""
    return (0, "") if value is None else (1, value)


def _marker(call: Call, marker_id: str) -> Image:
    """The marker image: an unknown marker is a 400 (not a 404, docs/glance.md §3.1); one the
    caller may not see is a 403, as real Glance 33 answers (conformance run)."""
    marker = call.state.image(marker_id)
    if marker is None or marker.region != call.region:
        raise glance_error(400, f"No image found with ID {marker_id}")
    if _find_visible(call, marker_id) is None:
        raise glance_error(403, f"Forbidding request, image {marker_id} not visible")
    return marker


def _link(params: dict[str, str]) -> str:
    """Root-relative, as Glance sends it: clients must resolve it against the endpoint root."""
    return f"/v2/images?{urlencode(params)}" if params else "/v2/images"
