"""The scenario suite: one list of requests, run against real Glance and the built-in cloud.

Each step is a request made as one of the cast below. `run.py` plays the whole list against
each target and compares, step by step, what `Step.facets` names besides the status code: the
member's status, the members listed, which images a list shows, and so on. Ids and timestamps
differ between the targets, so nothing compares them: an image is known by its name, and ids in
paths are placeholders (`{img}`) filled from what that target answered earlier.

`expect` is the status real Glance 33 gave in docs/glance-observed.md (its
row is in the title); run.py also checks the real server against it, which proves the set-up is
the same.

The cast (projects are the same strings on both targets):
    a, b, c        tenant-a/b/c with roles member,reader
    admin          tenant-admin with roles admin,member,reader
    d              tenant-d (member,reader), owns only the paging images
    a-reader, b-reader   roles reader only
    b-noroles      no roles at all
    b-tenant-id    B, but real Glance gets X-Tenant-Id instead of X-Project-Id
    anon           no identity (no headers, no token)
"""

from dataclasses import dataclass, field
from typing import Any

A, B, C, D, ADMIN = "tenant-a", "tenant-b", "tenant-c", "tenant-d", "tenant-admin"
# An image id no target has: the same on both.
UNKNOWN = "6f1c2b8e-3d7a-4c55-9a43-0bd0f0b9b5d1"
# Placeholders every step may use, besides the ids a target saved.
CONSTANTS = {"A": A, "B": B, "C": C, "D": D, "ADMIN": ADMIN, "unknown": UNKNOWN}

# Who makes a request: (project, roles); roles None means no X-Roles header at all.
CAST: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "a": (A, ("member", "reader")),
    "b": (B, ("member", "reader")),
    "c": (C, ("member", "reader")),
    "d": (D, ("member", "reader")),
    "admin": (ADMIN, ("admin", "member", "reader")),
    "a-reader": (A, ("reader",)),
    "b-reader": (B, ("reader",)),
    "b-noroles": (B, None),
    "b-tenant-id": (B, ("member", "reader")),
}

NO_BODY = object()
JSON_PATCH = "application/openstack-images-v2.1-json-patch"

# What a step compares, besides the status code (see run.py `facets_of`):
#   member     member_id (with its JSON type) and status of a member object
#   members    (member_id, status) of a members list, in the order listed
#   names      sorted image names of a list
#   page       image names in the order listed, and whether there is a `next` link
#   shape      number of images and whether there is a `next` link (for the default sort,
#              whose order among images made in the same second depends on random ids)
#   image      name, visibility, status, owner, protected and min_disk of an image, and
#              which fields it has
#   current    the CURRENT version of a versions document
#   schema     the name and property names of a schema document
#   document   the whole JSON document (the image schemas)
#   hashes     status, size, virtual_size, checksum, os_hash_algo, os_hash_value and stores
#              of an image (after an upload)
# and, for errors too:
#   content_type  the Content-Type of the answer (Glance's errors follow the Accept header)
#   text       the body as text, with this target's ids as placeholders
#   data       the body's bytes (image data)
# and, for every step, whether the answer carries an x-openstack-request-id header.


@dataclass(frozen=True)
class Step:
    title: str
    who: str  # a key of CAST, or "anon"
    method: str
    path: str  # relative to the Glance root; {placeholders} from `save`/`save_next`, TENANTS
    body: Any = NO_BODY  # sent as JSON
    raw: bytes | None = None  # sent as is (with `headers`), instead of `body`
    headers: tuple[tuple[str, str | None], ...] = ()  # None: leave the header out
    facets: tuple[str, ...] = ()
    save: str | None = None  # keep the created image's id under this name
    save_next: str | None = None  # keep the list's `next` link under this name
    expect: int | None = None  # status in docs/glance-observed.md
    tags: frozenset[str] = field(default_factory=frozenset)


def image(name: str, visibility: str | None = "shared", **extra: Any) -> dict:
    body = {"name": name, "disk_format": "raw", "container_format": "bare", **extra}
    if visibility is not None:
        body["visibility"] = visibility
    return body


def create(title: str, save: str, body: dict, who: str = "a", expect: int | None = 201) -> Step:
    return Step(title, who, "POST", "/v2/images", body, facets=("image",), save=save, expect=expect)


def lst(title: str, who: str, query: str = "", facets=("names",), **kw: Any) -> Step:
    return Step(
        title, who, "GET", "/v2/images" + (f"?{query}" if query else ""), facets=facets, **kw
    )


def member_post(title: str, who: str, img: str, member: Any, expect: int | None = None) -> Step:
    return Step(
        title,
        who,
        "POST",
        f"/v2/images/{{{img}}}/members",
        {"member": member},
        facets=("member",),
        expect=expect,
    )


def member_put(title: str, who: str, img: str, member: str, status: Any, expect=None) -> Step:
    return Step(
        title,
        who,
        "PUT",
        f"/v2/images/{{{img}}}/members/{member}",
        {"status": status},
        facets=("member",),
        expect=expect,
    )


def member_get(title: str, who: str, img: str, member: str, expect=None) -> Step:
    return Step(
        title,
        who,
        "GET",
        f"/v2/images/{{{img}}}/members/{member}",
        facets=("member",),
        expect=expect,
    )


def members(title: str, who: str, img: str, expect=None) -> Step:
    return Step(
        title, who, "GET", f"/v2/images/{{{img}}}/members", facets=("members",), expect=expect
    )


def member_delete(title: str, who: str, img: str, member: str, expect=None) -> Step:
    return Step(title, who, "DELETE", f"/v2/images/{{{img}}}/members/{member}", expect=expect)


def get_image(title: str, who: str, img: str, expect=None) -> Step:
    return Step(title, who, "GET", f"/v2/images/{{{img}}}", facets=("image",), expect=expect)


def patch(title: str, who: str, img: str, ops: list, expect=None, media_type=JSON_PATCH) -> Step:
    return Step(
        title,
        who,
        "PATCH",
        f"/v2/images/{{{img}}}",
        raw=_json(ops),
        headers=(("Content-Type", media_type),),
        facets=("image",),
        expect=expect,
    )


def op(name: str, key: str, value: Any = NO_BODY) -> dict:
    """One JSON-patch operation on a custom property."""
    operation = {"op": name, "path": f"/{key}"}
    return operation if value is NO_BODY else {**operation, "value": value}


def add(key: str, value: Any) -> dict:
    return op("add", key, value)


def line_patch(title: str, img: str, ops: list, expect: int | None = None) -> Step:
    """A property patch by the owner, comparing the status and the properties (error texts are
    compared as notes, like every step's)."""
    step = patch(title, "a", img, ops, expect=expect)
    return Step(
        step.title, step.who, step.method, step.path, raw=step.raw, headers=step.headers,
        facets=("image", "line_properties"), expect=expect,
    )  # fmt: skip


def raw_post(
    title: str, who: str, path: str, raw: bytes, content_type="application/json", expect=None
):
    return Step(
        title,
        who,
        "POST",
        path,
        raw=raw,
        headers=(("Content-Type", content_type),),
        facets=("member",),
        expect=expect,
    )


def upload(
    title: str,
    who: str,
    img: str,
    data: bytes = b"hello real glance",
    media_type: str = "application/octet-stream",
    expect: int | None = None,
) -> Step:
    return Step(
        title,
        who,
        "PUT",
        f"/v2/images/{{{img}}}/file",
        raw=data,
        headers=(("Content-Type", media_type),),
        facets=("content_type", "text"),
        expect=expect,
    )


def download(title: str, who: str, img: str) -> Step:
    return Step(title, who, "GET", f"/v2/images/{{{img}}}/file", facets=("content_type", "data"))


def delete_image(title: str, who: str, img: str, expect: int | None = None) -> Step:
    return Step(title, who, "DELETE", f"/v2/images/{{{img}}}", facets=("text",), expect=expect)


def error_body(accept: str | None) -> Step:
    return Step(
        f"error body with Accept: {accept}",
        "a",
        "GET",
        f"/v2/images/{UNKNOWN}",
        headers=(("Accept", accept),),
        facets=("content_type", "text"),
    )


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


def visibility(value: str) -> list[dict]:
    return [{"op": "replace", "path": "/visibility", "value": value}]


SHARED_WITH_ME = "member_status={status}&visibility=shared"

STEPS: list[Step] = [
    # --- Discovery and identity (rows 1-2)
    Step("versions (row 1)", "anon", "GET", "/versions", facets=("current",), expect=200),
    Step("versions at the root", "anon", "GET", "/", facets=("current",)),
    lst("list images without identity (row 2)", "anon", facets=(), expect=401),
    Step("get member without identity", "anon", "GET", f"/v2/images/{UNKNOWN}/members/{B}"),
    lst("list images, reader role only", "a-reader", facets=("names",)),
    lst("list images, no roles", "b-noroles", facets=()),
    lst("list images, empty cloud", "a"),
    # --- Image create and get (rows 3-7, 89, 93-99, 102)
    create("create image shared (row 3)", "img", image("probe-shared")),
    get_image("get image (row 5)", "a", "img", expect=200),
    get_image("C gets A's shared image (not a member)", "c", "img"),
    get_image("get unknown image", "a", "unknown"),
    create("create image private (row 89)", "pimg", image("probe-private", visibility="private")),
    get_image("C gets A's private image (row 93)", "c", "pimg", expect=404),
    create(
        "create image without visibility (row 94)", "dimg", image("probe-default", visibility=None)
    ),
    get_image("get image created without visibility (row 95)", "a", "dimg", expect=200),
    create(
        "non-admin creates public image (row 98)",
        "x",
        image("probe-public-denied", visibility="public"),
        expect=403,
    ),
    create(
        "admin creates public image (row 99)",
        "pubimg",
        image("probe-public", visibility="public"),
        who="admin",
    ),
    create(
        "create image community (row 102)", "cimg", image("probe-community", visibility="community")
    ),
    create(
        "create image with a bogus visibility",
        "x",
        image("probe-bogus", visibility="bogus"),
        expect=None,
    ),
    create(
        "create image with read-only status", "x", image("probe-ro", status="active"), expect=None
    ),
    create(
        "create image owned by another project", "x", image("probe-owner", owner=C), expect=None
    ),
    create(
        "create image, reader role only", "x", image("probe-reader"), who="a-reader", expect=None
    ),
    Step("create image, body is a list", "a", "POST", "/v2/images", [1, 2], facets=("image",)),
    Step(
        "create image, malformed JSON",
        "a",
        "POST",
        "/v2/images",
        raw=b"{nope",
        headers=(("Content-Type", "application/json"),),
    ),
    get_image("B gets A's community image", "b", "cimg"),
    get_image("B gets admin's public image", "b", "pubimg"),
    get_image("A gets own community image", "a", "cimg"),
    get_image("get image, no roles", "b-noroles", "pubimg"),
    # --- The member lifecycle (rows 8-64)
    member_post("add member B (row 8)", "a", "img", B, expect=200),
    members("list members (row 10)", "a", "img", expect=200),
    member_get("get member B (row 12)", "a", "img", "{B}", expect=200),
    member_get("get member B as B (row 13)", "b", "img", "{B}", expect=200),
    members("list members as B (row 14)", "b", "img", expect=200),
    get_image("get image while pending, as B (row 15)", "b", "img", expect=200),
    lst(
        "B lists pending shared (row 17)", "b", SHARED_WITH_ME.format(status="pending"), expect=200
    ),
    lst("B lists images, default filter (row 19)", "b", expect=200),
    lst(
        "C lists pending shared (row 21)", "c", SHARED_WITH_ME.format(status="pending"), expect=200
    ),
    member_put("accept as B (row 23)", "b", "img", "{B}", "accepted", expect=200),
    lst("B lists images, default filter, accepted (row 24)", "b", expect=200),
    lst(
        "B lists accepted shared (row 26)",
        "b",
        SHARED_WITH_ME.format(status="accepted"),
        expect=200,
    ),
    member_put("reject as B (row 29)", "b", "img", "{B}", "rejected", expect=200),
    get_image("get image while rejected, as B (row 30)", "b", "img", expect=200),
    lst(
        "B lists rejected shared (row 32)",
        "b",
        SHARED_WITH_ME.format(status="rejected"),
        expect=200,
    ),
    lst("B lists member_status=all (row 34)", "b", "member_status=all", expect=200),
    lst("B lists images, default filter, rejected", "b"),
    member_put("set pending again as B (row 36)", "b", "img", "{B}", "pending", expect=200),
    member_put("bogus status value as B (row 37)", "b", "img", "{B}", "bogus", expect=400),
    Step(
        "missing status field as B (row 38)",
        "b",
        "PUT",
        "/v2/images/{img}/members/{B}",
        {"state": "accepted"},
        facets=("member",),
        expect=400,
    ),
    Step(
        "status body is a list as B",
        "b",
        "PUT",
        "/v2/images/{img}/members/{B}",
        ["accepted"],
        facets=("member",),
    ),
    Step(
        "status update without body as B",
        "b",
        "PUT",
        "/v2/images/{img}/members/{B}",
        raw=b"",
        headers=(("Content-Type", "application/json"),),
    ),
    member_put("owner A tries to accept for B (row 39)", "a", "img", "{B}", "accepted", expect=403),
    member_put(
        "B updates a non-existent member C (row 40)", "b", "img", "{C}", "accepted", expect=404
    ),
    member_put("C updates B's membership", "c", "img", "{B}", "accepted"),
    member_put("admin accepts for B", "admin", "img", "{B}", "accepted"),
    member_put("B sets pending again", "b", "img", "{B}", "pending"),
    member_post("duplicate member B (row 41)", "a", "img", B, expect=409),
    member_post("non-owner C adds member (row 42)", "c", "img", C, expect=404),
    member_post("member B adds member C (row 43)", "b", "img", C, expect=403),
    members("C lists members (row 44)", "c", "img", expect=404),
    member_get("C gets member B (row 45)", "c", "img", "{B}", expect=404),
    member_get("C gets member C (not a member)", "c", "img", "{C}"),
    member_delete("B deletes own membership (row 46)", "b", "img", "{B}", expect=403),
    member_delete("C deletes B's membership", "c", "img", "{B}"),
    member_post("A (reader role only) adds member (row 47)", "a-reader", "img", C, expect=403),
    member_get("get member that does not exist (row 48)", "a", "img", "{C}", expect=404),
    raw_post(
        "invalid JSON body (row 49)", "a", "/v2/images/{img}/members", b"{not json", expect=400
    ),
    Step(
        "missing 'member' field (row 50)",
        "a",
        "POST",
        "/v2/images/{img}/members",
        {"tenant": C},
        facets=("member",),
        expect=400,
    ),
    Step(
        "empty JSON object (row 51)",
        "a",
        "POST",
        "/v2/images/{img}/members",
        {},
        facets=("member",),
        expect=400,
    ),
    member_post("member is empty string (row 52)", "a", "img", "", expect=400),
    member_post("member is null (row 53)", "a", "img", None, expect=400),
    Step(
        "body is a JSON list (row 54)",
        "a",
        "POST",
        "/v2/images/{img}/members",
        [C],
        facets=("member",),
        expect=400,
    ),
    raw_post("no body at all (row 55)", "a", "/v2/images/{img}/members", b"", expect=400),
    member_post("add member to unknown image (row 56)", "a", "unknown", C, expect=404),
    members("list members of unknown image (row 57)", "a", "unknown", expect=404),
    member_get("get member of unknown image", "a", "unknown", "{B}"),
    member_put("update member of unknown image", "b", "unknown", "{B}", "accepted"),
    member_delete("delete member of unknown image", "a", "unknown", "{B}"),
    Step(
        "GET members with a body",
        "a",
        "GET",
        "/v2/images/{img}/members",
        raw=b'{"a": 1}',
        headers=(("Content-Type", "application/json"),),
    ),
    Step("DELETE on the members collection", "a", "DELETE", "/v2/images/{img}/members"),
    Step("POST on a member", "a", "POST", "/v2/images/{img}/members/{B}", {"member": B}),
    member_delete("delete member B (row 58)", "a", "img", "{B}", expect=204),
    member_delete("delete member B again (row 59)", "a", "img", "{B}", expect=404),
    members("list members after delete (row 60)", "a", "img", expect=200),
    lst(
        "B lists pending shared after delete (row 62)",
        "b",
        SHARED_WITH_ME.format(status="pending"),
        expect=200,
    ),
    get_image("B gets image after membership deleted (row 64)", "b", "img", expect=404),
    members("B lists members after delete", "b", "img"),
    member_post("re-add member B", "a", "img", B),
    member_get("re-added member B is pending again", "b", "img", "{B}"),
    member_put("B accepts the re-added share", "b", "img", "{B}", "accepted"),
    # --- Member ids, header variants, the member limit (rows 65-81, 84-88)
    create("create image shared (row 65)", "simg", image("probe-scratch")),
    member_post("member is a JSON number (row 66)", "a", "simg", 12345, expect=200),
    member_get("get member 12345 (row 68)", "a", "simg", "12345", expect=200),
    raw_post(
        "member body sent as text/plain (row 70)",
        "a",
        "/v2/images/{simg}/members",
        _json({"member": C}),
        content_type="text/plain",
        expect=200,
    ),
    member_post("add member B (row 71)", "a", "simg", B, expect=200),
    members("list members as owner A (row 72)", "a", "simg", expect=200),
    members("list members as member B (row 74)", "b", "simg", expect=200),
    member_put(
        "B accepts using X-Tenant-Id (row 76)", "b-tenant-id", "simg", "{B}", "accepted", expect=200
    ),
    member_put(
        "B with only the reader role rejects (row 77)",
        "b-reader",
        "simg",
        "{B}",
        "rejected",
        expect=403,
    ),
    member_get(
        "B without X-Roles reads its membership (row 78)", "b-noroles", "simg", "{B}", expect=404
    ),
    members("B with only the reader role lists members", "b-reader", "simg"),
    member_post(
        "admin adds 4th member to A's image (row 79)", "admin", "simg", "tenant-x", expect=413
    ),
    member_post("duplicate member B on a full image", "a", "simg", B),
    member_delete(
        "admin deletes member C from A's image (row 80)", "admin", "simg", "{C}", expect=204
    ),
    member_post("admin adds member to A's image (row 81)", "admin", "simg", "tenant-y", expect=200),
    members("members after the admin's changes", "a", "simg"),
    Step(
        "schema /v2/schemas/member (row 82)",
        "a",
        "GET",
        "/v2/schemas/member",
        facets=("schema",),
        expect=200,
    ),
    Step(
        "schema /v2/schemas/members (row 83)",
        "a",
        "GET",
        "/v2/schemas/members",
        facets=("schema",),
        expect=200,
    ),
    create("create image shared (row 84)", "qimg", image("probe-quota")),
    member_post("quota: add member 1/3 (row 85)", "a", "qimg", "tenant-q0", expect=200),
    member_post("quota: add member 2/3 (row 86)", "a", "qimg", "tenant-q1", expect=200),
    member_post("quota: add member 3/3 (row 87)", "a", "qimg", "tenant-q2", expect=200),
    member_post("quota: add member 4 (row 88)", "a", "qimg", "tenant-q3", expect=413),
    member_delete("quota: remove member 3", "a", "qimg", "tenant-q2"),
    member_post("quota: add member 4 after a removal", "a", "qimg", "tenant-q3"),
    members("members in the order listed", "a", "qimg"),
    member_put("B is not a member of qimg", "b", "qimg", "{B}", "accepted"),
    member_delete("remove the first member", "a", "qimg", "tenant-q0"),
    member_post("add the first member again", "a", "qimg", "tenant-q0"),
    members("members after removing and adding the first again", "a", "qimg"),
    # --- Visibility and members (rows 90-92, 97, 100-105)
    member_post("add member to private image (row 90)", "a", "pimg", B, expect=403),
    members("list members of private image (row 91)", "a", "pimg", expect=403),
    member_get("get a member of private image (row 92)", "a", "pimg", "{B}", expect=404),
    member_delete("delete a member of private image", "a", "pimg", "{B}"),
    member_put("update a member of private image", "a", "pimg", "{B}", "accepted"),
    member_post("add member to default-visibility image (row 97)", "a", "dimg", B, expect=200),
    member_post("admin adds member to public image (row 100)", "admin", "pubimg", B, expect=403),
    member_post("A adds member to admin's public image (row 101)", "a", "pubimg", B, expect=403),
    members("A lists members of admin's public image", "a", "pubimg"),
    member_post("add member to community image (row 103)", "a", "cimg", B, expect=403),
    members("list members of community image", "a", "cimg"),
    patch(
        "make shared image (with member B) private (row 104)",
        "a",
        "dimg",
        visibility("private"),
        expect=200,
    ),
    member_get("B gets member on now-private image (row 105)", "b", "dimg", "{B}", expect=404),
    get_image("B gets the now-private image", "b", "dimg"),
    members("A lists members of the now-private image", "a", "dimg"),
    member_delete("A deletes member of the now-private image", "a", "dimg", "{B}"),
    patch("make it shared again", "a", "dimg", visibility("shared")),
    member_get("B's membership is back", "b", "dimg", "{B}"),
    patch("B patches A's shared image", "b", "dimg", visibility("private")),
    patch("C patches A's shared image", "c", "dimg", visibility("private")),
    patch(
        "patch with the wrong media type",
        "a",
        "dimg",
        visibility("private"),
        media_type="application/json",
    ),
    patch("patch visibility to a bogus value", "a", "dimg", visibility("bogus")),
    patch("non-admin patches own image to public", "a", "pimg", visibility("public")),
    patch("make private image shared (the client's fix)", "a", "pimg", visibility("shared")),
    member_post("add member to the now-shared image", "a", "pimg", C),
    patch("admin patches A's image", "admin", "dimg", visibility("shared")),
    members("B lists members, no roles", "b-noroles", "dimg"),
    patch("make community image shared", "a", "cimg", visibility("shared")),
    patch("make it community again", "a", "cimg", visibility("community")),
    # --- List filters: visibility, member_status, owner
    # A owns img (shared, B accepted), pimg (shared, C pending), dimg (shared, B pending),
    # simg (shared, B accepted), qimg (shared), cimg (community); admin owns pubimg (public).
    lst("A lists images (default)", "a"),
    lst("B lists images (default)", "b"),
    lst("C lists images (default)", "c"),
    lst("admin lists images (default)", "admin"),
    *[
        lst(f"{who} lists visibility={vis}", who, f"visibility={vis}")
        for who in ("a", "b", "c", "admin")
        for vis in ("public", "private", "shared", "community", "all")
    ],
    lst("list visibility=bogus", "a", "visibility=bogus", facets=()),
    *[
        lst(f"{who} lists member_status={status}", who, f"member_status={status}")
        for who in ("a", "b", "c")
        for status in ("pending", "accepted", "rejected", "all")
    ],
    *[
        lst(
            f"B lists visibility=shared&member_status={status}",
            "b",
            SHARED_WITH_ME.format(status=status),
        )
        for status in ("pending", "accepted", "rejected", "all")
    ],
    lst("list member_status=bogus", "b", "member_status=bogus", facets=()),
    lst("admin lists member_status=pending", "admin", "member_status=pending"),
    lst("B lists owner=A", "b", f"owner={A}"),
    lst("B lists owner=A, member_status=all", "b", f"owner={A}&member_status=all"),
    lst("B lists owner=A, visibility=community", "b", f"owner={A}&visibility=community"),
    lst("C lists owner=A", "c", f"owner={A}"),
    lst("A lists owner=A", "a", f"owner={A}"),
    lst("A lists owner=admin", "a", f"owner={ADMIN}"),
    lst("A lists owner=nobody", "a", "owner=nobody"),
    lst("admin lists owner=A", "admin", f"owner={A}"),
    lst("B lists name=probe-shared", "b", "name=probe-shared"),
    lst("B lists reader role only", "b-reader"),
    # --- Paging (D owns only these four images)
    create("paging image 1", "p1", image("page-1", visibility="private"), who="d"),
    create("paging image 2", "p2", image("page-2", visibility="private"), who="d"),
    create("paging image 3", "p3", image("page-3", visibility="private"), who="d"),
    create("paging image 4", "p4", image("page-4", visibility="private"), who="d"),
    lst(
        "D pages by 2, page 1",
        "d",
        f"owner={D}&sort=name:asc&limit=2",
        facets=("page",),
        save_next="n1",
    ),
    Step("D pages by 2, page 2", "d", "GET", "{n1}", facets=("page",), save_next="n2"),
    Step(
        "D pages by 2, page 3 (ends exactly on the last image)",
        "d",
        "GET",
        "{n2}",
        facets=("page",),
    ),
    lst(
        "D pages by 3, page 1",
        "d",
        f"owner={D}&sort=name:asc&limit=3",
        facets=("page",),
        save_next="m1",
    ),
    Step("D pages by 3, page 2", "d", "GET", "{m1}", facets=("page",)),
    lst(
        "D lists with limit=4 (exactly all)",
        "d",
        f"owner={D}&sort=name:asc&limit=4",
        facets=("page",),
        save_next="k1",
    ),
    Step("D follows next after limit=4", "d", "GET", "{k1}", facets=("page",)),
    lst("D lists with limit=5", "d", f"owner={D}&sort=name:asc&limit=5", facets=("page",)),
    lst("D lists with limit=0", "d", f"owner={D}&limit=0", facets=("page",)),
    lst("D lists with limit=-1", "d", "limit=-1", facets=()),
    lst("D lists with limit=abc", "d", "limit=abc", facets=()),
    lst("D pages descending by name", "d", f"owner={D}&sort=name:desc&limit=3", facets=("page",)),
    lst(
        "D pages with sort_key/sort_dir",
        "d",
        f"owner={D}&sort_key=name&sort_dir=asc&limit=3",
        facets=("page",),
    ),
    lst("D lists by the default sort, limit 2", "d", "limit=2", facets=("shape",), save_next="s1"),
    Step("D follows next, default sort", "d", "GET", "{s1}", facets=("shape",), save_next="s2"),
    Step("D follows next again, default sort", "d", "GET", "{s2}", facets=("shape",)),
    lst(
        "D lists with marker of p2, by name",
        "d",
        f"owner={D}&sort=name:asc&marker={{p2}}",
        facets=("page",),
    ),
    lst(
        "D pages by name after a marker outside the filter",
        "d",
        f"owner={D}&sort=name:asc&marker={{pubimg}}",
        facets=("page",),
    ),
    lst(
        "D pages by name desc after a marker outside the filter",
        "d",
        f"owner={D}&sort=name:desc&marker={{pubimg}}",
        facets=("page",),
    ),
    lst("D sorts by two keys", "d", f"owner={D}&sort=status:asc,name:desc", facets=("page",)),
    lst("D lists name=page-2", "d", "name=page-2", facets=("page",)),
    lst("D lists status=queued", "d", "status=queued", facets=("names",)),
    lst("D lists status=active", "d", "status=active", facets=("names",)),
    get_image("admin gets D's private image", "admin", "p1"),
    members("admin lists members of D's private image", "admin", "p1"),
    member_post("admin adds a member to D's private image", "admin", "p1", B),
    lst("B lists A's offers, all statuses", "b", f"owner={A}&visibility=shared&member_status=all"),
    lst("C lists visibility=private", "c", "visibility=private"),
    lst("D lists visibility=private", "d", "visibility=private"),
    lst("admin lists visibility=private", "admin", "visibility=private"),
    lst("D lists with an unknown marker", "d", f"marker={UNKNOWN}", facets=()),
    lst("C lists with D's private image as marker", "c", "marker={p1}", facets=()),
    lst("D lists with a marker that is not a uuid", "d", "marker=nope", facets=()),
    lst("D lists with bad sort key", "d", "sort=bogus:asc", facets=()),
    lst("D lists with bad sort dir", "d", "sort=name:sideways", facets=()),
    lst(
        "A pages its own images by 3",
        "a",
        f"owner={A}&sort=name:asc&limit=3",
        facets=("page",),
        save_next="o1",
    ),
    Step("A pages its own images, page 2", "a", "GET", "{o1}", facets=("page",), save_next="o2"),
    Step("A pages its own images, page 3", "a", "GET", "{o2}", facets=("page",)),
    lst(
        "B pages shared with it, all statuses, by 1",
        "b",
        "visibility=shared&member_status=all&sort=name:asc&limit=1",
        facets=("page",),
        save_next="q1",
    ),
    Step("B pages shared with it, page 2", "b", "GET", "{q1}", facets=("page",), save_next="q2"),
    Step("B pages shared with it, page 3", "b", "GET", "{q2}", facets=("page",)),
    # --- Image data, image delete and the image schemas (rows 4, 16, 28, 106-112)
    Step("schema /v2/schemas/image", "a", "GET", "/v2/schemas/image", facets=("document",)),
    Step("schema /v2/schemas/images", "a", "GET", "/v2/schemas/images", facets=("document",)),
    create("create image for data", "fimg", image("probe-data")),
    download("download before any upload", "a", "fimg"),
    upload("upload with a JSON media type", "a", "fimg", media_type="application/json"),
    upload("upload by a stranger", "c", "fimg"),
    member_post("add member B to the data image", "a", "fimg", B),
    upload("upload by member B", "b", "fimg"),
    upload("upload, reader role only", "a-reader", "fimg"),
    upload("upload tiny body (row 4)", "a", "fimg", expect=204),
    Step(
        "image after the upload (row 6)",
        "a",
        "GET",
        "/v2/images/{fimg}",
        facets=("image", "hashes"),
    ),
    upload("upload again", "a", "fimg", b"other bytes"),
    download("download as the owner", "a", "fimg"),
    download("download while pending, as B (row 16)", "b", "fimg"),
    download("download as a stranger", "c", "fimg"),
    lst("B lists member_status=all, with the data image", "b", "member_status=all"),
    delete_image("B deletes A's image", "b", "fimg"),
    delete_image("C deletes A's image", "c", "fimg"),
    delete_image("A (reader role only) deletes its image", "a-reader", "fimg"),
    delete_image("A deletes the data image (row 106)", "a", "fimg", expect=204),
    delete_image("A deletes it again", "a", "fimg"),
    get_image("get the deleted image", "a", "fimg"),
    member_get("B's membership went with the image", "b", "fimg", "{B}"),
    lst("B lists member_status=all after the delete", "b", "member_status=all"),
    create("create protected image", "protimg", image("probe-protected", protected=True)),
    delete_image("delete the protected image", "a", "protimg"),
    patch(
        "unprotect it",
        "a",
        "protimg",
        [{"op": "replace", "path": "/protected", "value": False}],
    ),
    delete_image("delete it now", "a", "protimg"),
    create("create qcow2 image", "q2img", image("probe-qcow2", disk_format="qcow2")),
    upload("upload raw bytes to the qcow2 image", "a", "q2img"),
    Step(
        "qcow2 image after the refused upload",
        "a",
        "GET",
        "/v2/images/{q2img}",
        facets=("image", "hashes"),
    ),
    download("download after the refused upload", "a", "q2img"),
    upload("upload again after the refused upload", "a", "q2img"),
    create("create vhd image", "vhdimg", image("probe-vhd", disk_format="vhd")),
    upload("upload raw bytes to the vhd image", "a", "vhdimg"),
    create("create image without formats", "nfimg", {"name": "probe-no-formats"}),
    upload("upload to an image without formats", "a", "nfimg"),
    create("create raw image for qcow2 bytes", "rawimg", image("probe-raw-qcow2")),
    upload(
        "upload qcow2 bytes to a raw image", "a", "rawimg", b"QFI\xfb\x00\x00\x00\x03" + bytes(1000)
    ),
    Step("raw image with qcow2 bytes", "a", "GET", "/v2/images/{rawimg}", facets=("hashes",)),
    delete_image("admin deletes A's image", "admin", "simg"),
    members("members of the image the admin deleted", "a", "simg"),
    # --- Custom properties by JSON-patch: what image lines write on each version
    create("create image for line properties", "limg", image("probe-line")),
    line_patch(
        "add line properties",
        "limg",
        [add("image_line", "web"), add("provided_until", "2027-01-01")],
        200,
    ),
    line_patch(
        "add over an existing property replaces it", "limg", [add("image_line", "web2")], 200
    ),
    line_patch("replace an existing property", "limg", [op("replace", "image_line", "web3")], 200),
    line_patch("remove a property", "limg", [op("remove", "provided_until")], 200),
    line_patch(
        "remove a property the image does not have", "limg", [op("remove", "provided_until")]
    ),
    line_patch("replace a property the image does not have", "limg", [op("replace", "nope", "x")]),
    line_patch("a property value that is not a string", "limg", [add("image_line_version", 3)]),
    Step(
        "B cannot patch A's properties",
        "b",
        "PATCH",
        "/v2/images/{limg}",
        raw=_json([add("image_line", "x")]),
        headers=(("Content-Type", JSON_PATCH),),
    ),
    Step(
        "the image after its property patches",
        "a",
        "GET",
        "/v2/images/{limg}",
        facets=("image", "line_properties"),
    ),
    lst("list by a custom property", "a", "image_line=web3"),
    delete_image("delete the line properties image", "a", "limg", expect=204),
    # --- Error bodies: WebOb renders them by the Accept header
    *[
        error_body(accept)
        for accept in (
            "application/json",
            "*/*",
            "text/html",
            "text/plain",
            "text/*",
            "application/*",
            "application/xml",
            "application/json;q=0.5, text/html;q=0.4",
            "text/html;q=0",
            None,
        )
    ],
    Step(
        "a quoted message as HTML",
        "a",
        "POST",
        "/v2/images/{qimg}/members",
        [C],
        headers=(("Accept", "text/html"),),
        facets=("content_type", "text"),
    ),
    Step(
        "a quoted message as plain text",
        "a",
        "POST",
        "/v2/images/{qimg}/members",
        [C],
        headers=(("Accept", "text/plain"),),
        facets=("content_type", "text"),
    ),
    Step(
        "401 as plain text",
        "anon",
        "GET",
        "/v2/images",
        headers=(("Accept", None),),
        facets=("content_type", "text"),
    ),
    Step(
        "405 as HTML",
        "a",
        "DELETE",
        "/v2/images/{qimg}/members",
        headers=(("Accept", "text/html"),),
        facets=("content_type", "text"),
    ),
]
