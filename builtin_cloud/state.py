"""The built-in cloud's data: accounts, users, tokens, images, members, faults and counters.

Everything lives in SQLite so that several processes (the web app, a worker, the `fakecloud`
server) can share one cloud through a file. One `RLock` serialises the work of a request inside
a process; `BEGIN IMMEDIATE` and a busy timeout serialise writers across processes.
"""

import hashlib
import json
import random
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FAULT_KINDS = ("latency", "error", "rate_limit", "timeout", "reset", "late")
# How long a `late` fault holds its change back when it gives no `seconds`.
DEFAULT_LATE_SECONDS = 0.5
ROUTES = (
    "identity_rackspace",
    "identity_keystone",
    "identity_versions",
    "identity_projects",
    "versions",
    "schema",
    "images_list",
    "image_get",
    "image_create",
    "image_patch",
    "image_delete",
    "image_upload",
    "image_download",
    "members_list",
    "member_get",
    "member_create",
    "member_update",
    "member_delete",
)
# Glance's config defaults: image_member_quota, and a token lifetime of 24 h as on Rackspace;
# the Images API version real Glance 33.0.0 lists as CURRENT.
DEFAULT_MEMBER_LIMIT = 128
DEFAULT_TOKEN_TTL = 86400
DEFAULT_API_VERSION = "2.17"
_SETTING_DEFAULTS = {
    "member_limit": str(DEFAULT_MEMBER_LIMIT),
    "token_ttl": str(DEFAULT_TOKEN_TTL),
    "api_version": DEFAULT_API_VERSION,
}
# Stable ids for users and roles, so that a cloud file read by two processes agrees.
_ID_NAMESPACE = uuid.UUID("8a5c3f57-2f0e-4c55-9a43-7bd0f0b9b5d1")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    tenant_id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    password TEXT,
    api_key TEXT,
    roles TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS app_credentials (
    cred_id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    username TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    username TEXT NOT NULL,
    roles TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    owner TEXT,
    name TEXT,
    status TEXT NOT NULL,
    visibility TEXT NOT NULL,
    size INTEGER,
    disk_format TEXT,
    container_format TEXT,
    protected INTEGER NOT NULL,
    min_disk INTEGER NOT NULL,
    min_ram INTEGER NOT NULL,
    tags TEXT NOT NULL,
    extra TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS images_region ON images (region);
CREATE TABLE IF NOT EXISTS members (
    image_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (image_id, member_id)
);
CREATE INDEX IF NOT EXISTS members_member ON members (member_id);
CREATE TABLE IF NOT EXISTS image_files (
    image_id TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    route TEXT,
    status INTEGER,
    seconds REAL,
    retry_after TEXT,
    after INTEGER NOT NULL,
    times INTEGER,
    rate REAL NOT NULL,
    message TEXT
);
CREATE TABLE IF NOT EXISTS calls (
    route TEXT PRIMARY KEY,
    count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS member_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    route TEXT NOT NULL,
    image_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    status INTEGER NOT NULL,
    global_request_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def utcnow() -> datetime:
    return datetime.now(UTC)


def isotime(moment: datetime) -> str:
    """Glance's timestamp format: seconds, with a `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("v").split("."))


def stable_id(*parts: str) -> str:
    return uuid.uuid5(_ID_NAMESPACE, ":".join(parts)).hex


@dataclass(frozen=True)
class Account:
    tenant_id: str
    name: str


@dataclass(frozen=True)
class User:
    username: str
    user_id: str
    tenant_id: str
    password: str | None
    api_key: str | None
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Token:
    token: str
    tenant_id: str
    username: str
    roles: tuple[str, ...]
    expires_at: float


@dataclass
class Image:
    id: str
    region: str
    owner: str | None
    name: str | None
    status: str
    visibility: str
    size: int | None
    disk_format: str | None
    container_format: str | None
    protected: bool
    min_disk: int
    min_ram: int
    tags: list[str]
    extra: dict[str, str]
    created_at: str
    updated_at: str
    # Set by an upload; a seeded `active` image without data shows digests of its id.
    checksum: str | None = None
    os_hash_value: str | None = None
    virtual_size: int | None = None
    stores: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The image as Glance v2 shows it (base properties first, extra properties flat)."""
        active = self.status == "active"
        uploaded = self.checksum is not None
        body = {
            "name": self.name,
            "disk_format": self.disk_format,
            "container_format": self.container_format,
            "visibility": self.visibility,
            "size": self.size,
            "virtual_size": self.virtual_size,
            "status": self.status,
            "checksum": self.checksum if uploaded else _digest("md5", self.id) if active else None,
            "protected": self.protected,
            "min_ram": self.min_ram,
            "min_disk": self.min_disk,
            "owner": self.owner,
            "os_hidden": False,
            "os_hash_algo": "sha512" if active or uploaded else None,
            "os_hash_value": (
                self.os_hash_value if uploaded else _digest("sha512", self.id) if active else None
            ),
            "id": self.id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "tags": list(self.tags),
            **self.extra,
            "self": f"/v2/images/{self.id}",
            "file": f"/v2/images/{self.id}/file",
            "schema": "/v2/schemas/image",
        }
        if self.stores:
            body["stores"] = self.stores  # where the uploaded data is (Glance's `fs` store)
        return body


@dataclass(frozen=True)
class Member:
    image_id: str
    member_id: str
    status: str
    created_at: str
    updated_at: str

    def to_json(self, member_id: Any = None) -> dict[str, Any]:
        """The member as Glance shows it; `member_id` overrides the stored string.

        Glance's POST echoes the member exactly as the client sent it, e.g. the number 12345,
        while GET reads back the stored string "12345" (docs/glance-observed.md rows 66-69).
        """
        return {
            "member_id": self.member_id if member_id is None else member_id,
            "image_id": self.image_id,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "schema": "/v2/schemas/member",
        }


@dataclass(frozen=True)
class Fault:
    id: int
    kind: str
    route: str | None
    status: int | None
    seconds: float | None
    retry_after: str | None
    after: bool
    times: int | None
    rate: float
    message: str | None


@dataclass(frozen=True)
class MemberCall:
    """A member create, update or delete the cloud handled, and the status it answered (the
    client may never have seen it). `at` is an ISO time to the microsecond, unlike Glance's;
    `global_request_id` the caller's X-OpenStack-Request-ID header, if it sent one."""

    at: str
    route: str
    image_id: str
    member_id: str
    status: int
    global_request_id: str


def _digest(algorithm: str, text: str) -> str:
    return hashlib.new(algorithm, text.encode(), usedforsecurity=False).hexdigest()


class CloudState:
    """The whole cloud, in one SQLite database (`":memory:"` for tests, a file to share)."""

    def __init__(self, path: str = ":memory:") -> None:
        self.lock = threading.RLock()
        self._depth = 0
        self._late: list[tuple[threading.Timer, Callable[[], object]]] = []
        self._late_lock = threading.Lock()
        self._db = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=10.0
        )
        self._db.row_factory = sqlite3.Row
        with self.lock:
            self._db.execute("PRAGMA busy_timeout = 10000")
            if path != ":memory:":
                self._db.execute("PRAGMA journal_mode = WAL")
            self._db.executescript(_SCHEMA)
            self._add_column("members", "deleted INTEGER NOT NULL DEFAULT 0")
            for column in ("checksum TEXT", "os_hash_value TEXT", "virtual_size INTEGER"):
                self._add_column("images", column)
            self._add_column("images", "stores TEXT")

    def _add_column(self, table: str, column: str) -> None:
        """Bring a cloud file made by an older version up to date."""
        names = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
        if column.split()[0] in names:
            return
        with suppress(sqlite3.OperationalError):  # another process sharing the file was first
            self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One request's database work: thread lock plus an immediate (writer) transaction.

        Re-entrant, so that helpers called inside a request join its transaction.
        """
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    # Settings, stored in the database so that every process sharing the file sees them.

    def _setting(self, key: str) -> str:
        with self.transaction() as db:
            row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else _SETTING_DEFAULTS[key]

    def _set_setting(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    @property
    def member_limit(self) -> int:
        """Glance's image_member_quota; negative means unlimited."""
        return int(self._setting("member_limit"))

    @member_limit.setter
    def member_limit(self, value: int) -> None:
        self._set_setting("member_limit", str(int(value)))

    @property
    def token_ttl(self) -> int:
        return int(self._setting("token_ttl"))

    @token_ttl.setter
    def token_ttl(self, value: int) -> None:
        self._set_setting("token_ttl", str(int(value)))

    @property
    def api_version(self) -> str:
        return self._setting("api_version")

    @api_version.setter
    def api_version(self, value: str) -> None:
        version_tuple(value)  # fail early on a typo like "2.x"
        self._set_setting("api_version", value)

    @property
    def pre_ocata(self) -> bool:
        """Before Images API v2.5 there were no `shared`/`community` visibilities."""
        return version_tuple(self.api_version) < (2, 5)

    # Accounts, users and credentials.

    def add_account(self, tenant_id: str, name: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO accounts (tenant_id, name) VALUES (?, ?) "
                "ON CONFLICT (tenant_id) DO UPDATE SET name = excluded.name",
                (tenant_id, name),
            )

    def account(self, tenant_id: str) -> Account | None:
        with self.transaction() as db:
            row = db.execute("SELECT * FROM accounts WHERE tenant_id = ?", (tenant_id,)).fetchone()
        return Account(row["tenant_id"], row["name"]) if row else None

    def accounts(self) -> list[Account]:
        with self.transaction() as db:
            rows = db.execute("SELECT * FROM accounts ORDER BY tenant_id").fetchall()
        return [Account(row["tenant_id"], row["name"]) for row in rows]

    def account_named(self, name: str) -> Account | None:
        """An account by its tenant id or, failing that, its name (Keystone project names)."""
        found = self.account(name)
        if found:
            return found
        with self.transaction() as db:
            row = db.execute("SELECT * FROM accounts WHERE name = ?", (name,)).fetchone()
        return Account(row["tenant_id"], row["name"]) if row else None

    def add_user(
        self,
        username: str,
        tenant_id: str,
        *,
        password: str | None = None,
        api_key: str | None = None,
        roles: tuple[str, ...] | list[str] = ("member", "reader"),
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO users (username, user_id, tenant_id, password, api_key, roles) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET "
                "tenant_id = excluded.tenant_id, password = excluded.password, "
                "api_key = excluded.api_key, roles = excluded.roles",
                (
                    username,
                    stable_id("user", username),
                    tenant_id,
                    password,
                    api_key,
                    json.dumps(list(roles)),
                ),
            )

    def user(self, username: str) -> User | None:
        with self.transaction() as db:
            row = db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        return _user(row) if row else None

    def user_by_id(self, user_id: str) -> User | None:
        with self.transaction() as db:
            row = db.execute("SELECT * FROM users WHERE user_id = ?", (user_id,)).fetchone()
        return _user(row) if row else None

    def add_app_credential(self, cred_id: str, secret: str, username: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO app_credentials (cred_id, secret, username) VALUES (?, ?, ?) "
                "ON CONFLICT (cred_id) DO UPDATE SET "
                "secret = excluded.secret, username = excluded.username",
                (cred_id, secret, username),
            )

    def app_credential(self, cred_id: str) -> tuple[str, str] | None:
        """(secret, username) of an application credential."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT secret, username FROM app_credentials WHERE cred_id = ?", (cred_id,)
            ).fetchone()
        return (row["secret"], row["username"]) if row else None

    # Tokens.

    def issue_token(self, user: User) -> Token:
        token = Token(
            token=secrets.token_hex(16),
            tenant_id=user.tenant_id,
            username=user.username,
            roles=user.roles,
            expires_at=time.time() + self.token_ttl,
        )
        with self.transaction() as db:
            db.execute(
                "INSERT INTO tokens (token, tenant_id, username, roles, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    token.token,
                    token.tenant_id,
                    token.username,
                    json.dumps(token.roles),
                    token.expires_at,
                ),
            )
        return token

    def valid_token(self, token: str) -> Token | None:
        with self.transaction() as db:
            row = db.execute("SELECT * FROM tokens WHERE token = ?", (token,)).fetchone()
        if row is None or row["expires_at"] <= time.time():
            return None
        return Token(
            token=row["token"],
            tenant_id=row["tenant_id"],
            username=row["username"],
            roles=tuple(json.loads(row["roles"])),
            expires_at=row["expires_at"],
        )

    def expire_tokens(self) -> None:
        """Every token issued so far now gets 401, as after its `expires` time."""
        with self.transaction() as db:
            db.execute("UPDATE tokens SET expires_at = 0")

    def token_count(self) -> int:
        with self.transaction() as db:
            return db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0]

    # Images.

    def create_image(
        self,
        *,
        owner: str | None,
        region: str = "IAD",
        name: str | None = "image",
        visibility: str = "shared",
        status: str = "active",
        size: int | None = 10 * 1024**3,
        image_id: str | None = None,
        created_at: datetime | None = None,
        disk_format: str | None = "vhd",
        container_format: str | None = "ovf",
        protected: bool = False,
        min_disk: int = 0,
        min_ram: int = 0,
        tags: tuple[str, ...] | list[str] = (),
        **extra_props: str,
    ) -> dict[str, Any]:
        """Store an image without any rule checks (seeding) and return its Glance JSON."""
        stamp = isotime(created_at or utcnow())
        image = Image(
            id=image_id or str(uuid.uuid4()),
            region=region.upper(),
            owner=owner,
            name=name,
            status=status,
            visibility=visibility,
            size=size,
            disk_format=disk_format,
            container_format=container_format,
            protected=protected,
            min_disk=min_disk,
            min_ram=min_ram,
            tags=list(tags),
            extra={key: str(value) for key, value in extra_props.items()},
            created_at=stamp,
            updated_at=stamp,
        )
        self.insert_image(image)
        return image.to_json()

    def insert_image(self, image: Image) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO images (id, region, owner, name, status, visibility, size, "
                "disk_format, container_format, protected, min_disk, min_ram, tags, extra, "
                "created_at, updated_at, checksum, os_hash_value, virtual_size, stores) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _image_row(image),
            )

    def save_image(self, image: Image) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE images SET region = ?, owner = ?, name = ?, status = ?, visibility = ?, "
                "size = ?, disk_format = ?, container_format = ?, protected = ?, min_disk = ?, "
                "min_ram = ?, tags = ?, extra = ?, created_at = ?, updated_at = ?, checksum = ?, "
                "os_hash_value = ?, virtual_size = ?, stores = ? WHERE id = ?",
                (*_image_row(image)[1:], image.id),
            )

    def image(self, image_id: str) -> Image | None:
        with self.transaction() as db:
            row = db.execute("SELECT * FROM images WHERE id = ?", (image_id,)).fetchone()
        return _image(row) if row else None

    def delete_image(self, image_id: str) -> None:
        """Remove an image with its data and its members (they go with it, as in Glance)."""
        with self.transaction() as db:
            db.execute("DELETE FROM members WHERE image_id = ?", (image_id,))
            db.execute("DELETE FROM image_files WHERE image_id = ?", (image_id,))
            db.execute("DELETE FROM images WHERE id = ?", (image_id,))

    def save_image_data(self, image_id: str, data: bytes) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO image_files (image_id, data) VALUES (?, ?) "
                "ON CONFLICT (image_id) DO UPDATE SET data = excluded.data",
                (image_id, data),
            )

    def image_data(self, image_id: str) -> bytes | None:
        with self.transaction() as db:
            row = db.execute(
                "SELECT data FROM image_files WHERE image_id = ?", (image_id,)
            ).fetchone()
        return bytes(row["data"]) if row else None

    def images(self, region: str) -> list[Image]:
        with self.transaction() as db:
            rows = db.execute("SELECT * FROM images WHERE region = ?", (region.upper(),))
            return [_image(row) for row in rows]

    # Members.

    def add_member(self, image_id: str, member_id: str, status: str = "pending") -> None:
        """Seeding: create or overwrite a membership, bypassing every rule and the limit."""
        now = isotime(utcnow())
        with self.transaction() as db:
            db.execute(
                "INSERT INTO members (image_id, member_id, status, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (image_id, member_id) DO UPDATE SET "
                "status = excluded.status, updated_at = excluded.updated_at, deleted = 0",
                (image_id, member_id, status, now, now),
            )

    def member_status(self, image_id: str, member_id: str) -> str | None:
        found = self.member(image_id, member_id)
        return found.status if found else None

    def member(self, image_id: str, member_id: str) -> Member | None:
        with self.transaction() as db:
            row = db.execute(
                "SELECT * FROM members WHERE image_id = ? AND member_id = ? AND deleted = 0",
                (image_id, member_id),
            ).fetchone()
        return _member(row) if row else None

    def members(self, image_id: str) -> list[Member]:
        """In the order they were first added, as Glance lists them
        (docs/glance-observed.md row 72)."""
        with self.transaction() as db:
            rows = db.execute(
                "SELECT * FROM members WHERE image_id = ? AND deleted = 0 "
                "ORDER BY created_at, rowid",
                (image_id,),
            )
            return [_member(row) for row in rows]

    def memberships(self, tenant_id: str) -> dict[str, str]:
        """{image id: member status} of every image shared with a tenant."""
        with self.transaction() as db:
            rows = db.execute(
                "SELECT image_id, status FROM members WHERE member_id = ? AND deleted = 0",
                (tenant_id,),
            )
            return {row["image_id"]: row["status"] for row in rows}

    def insert_member(self, image_id: str, member_id: str) -> Member:
        """A new `pending` member.

        Like Glance, a deleted member's row is reused: adding it again resets its status to
        `pending` but keeps its `created_at` and its place in the members list (seen in the
        conformance run against Glance 33).
        """
        now = isotime(utcnow())
        with self.transaction() as db:
            db.execute(
                "INSERT INTO members (image_id, member_id, status, created_at, updated_at) "
                "VALUES (?, ?, 'pending', ?, ?) ON CONFLICT (image_id, member_id) DO UPDATE SET "
                "status = 'pending', updated_at = excluded.updated_at, deleted = 0",
                (image_id, member_id, now, now),
            )
            row = db.execute(
                "SELECT * FROM members WHERE image_id = ? AND member_id = ?",
                (image_id, member_id),
            ).fetchone()
        return _member(row)

    def set_member_status(self, member: Member, status: str) -> Member:
        now = isotime(utcnow())
        with self.transaction() as db:
            db.execute(
                "UPDATE members SET status = ?, updated_at = ? "
                "WHERE image_id = ? AND member_id = ?",
                (status, now, member.image_id, member.member_id),
            )
        return Member(member.image_id, member.member_id, status, member.created_at, now)

    def delete_member(self, member: Member) -> None:
        with self.transaction() as db:
            # Glance marks the row deleted; `insert_member` brings it back.
            db.execute(
                "UPDATE members SET deleted = 1 WHERE image_id = ? AND member_id = ?",
                (member.image_id, member.member_id),
            )

    def member_count(self, image_id: str) -> int:
        with self.transaction() as db:
            return db.execute(
                "SELECT COUNT(*) FROM members WHERE image_id = ? AND deleted = 0", (image_id,)
            ).fetchone()[0]

    # Faults.

    def add_fault(
        self,
        kind: str,
        *,
        route: str | None = None,
        status: int | None = None,
        seconds: float | None = None,
        retry_after: int | str | None = None,
        after: bool = False,
        times: int | None = None,
        rate: float = 1.0,
        message: str | None = None,
    ) -> int:
        """Make matching requests misbehave; returns the fault's id.

        `after=True` applies the request's change first and fails afterwards. `times` is how
        often it fires before it removes itself (None: forever); `rate` the chance it fires.

        `late`: the client's read times out at once and the change is not made yet; it is made
        `seconds` later (default 0.5) on a timer, or at once by `apply_late()`.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"Unknown fault kind {kind!r}; use one of {FAULT_KINDS}.")
        if kind == "late" and after:
            raise ValueError("A late fault holds the change back; it cannot come after it.")
        if route is not None and route not in ROUTES:
            raise ValueError(f"Unknown route {route!r}; use one of {ROUTES}.")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate is a probability between 0 and 1.")
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO faults (kind, route, status, seconds, retry_after, after, times, "
                "rate, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    route,
                    status,
                    seconds,
                    None if retry_after is None else str(retry_after),
                    int(after),
                    times,
                    rate,
                    message,
                ),
            )
            return int(cursor.lastrowid or 0)

    def clear_faults(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM faults")

    def faults(self) -> list[Fault]:
        with self.transaction() as db:
            return [_fault(row) for row in db.execute("SELECT * FROM faults ORDER BY id")]

    def record_call(self, route: str) -> list[Fault]:
        """Count one call of `route` and return the faults that fire for it.

        Every latency fault that fires is returned, plus at most one other fault (the oldest
        that fires), so one request never both errors and resets. Only returned faults use up
        one of their `times`.
        """
        with self.transaction() as db:
            db.execute(
                "INSERT INTO calls (route, count) VALUES (?, 1) "
                "ON CONFLICT (route) DO UPDATE SET count = count + 1",
                (route,),
            )
            fired: list[Fault] = []
            rows = db.execute(
                "SELECT * FROM faults WHERE route IS NULL OR route = ? ORDER BY id", (route,)
            ).fetchall()
            for fault in map(_fault, rows):
                failing = fault.kind != "latency"
                if failing and any(f.kind != "latency" for f in fired):
                    continue
                if random.random() >= fault.rate:
                    continue
                fired.append(fault)
                self._use_up(db, fault)
            return fired

    @staticmethod
    def _use_up(db: sqlite3.Connection, fault: Fault) -> None:
        if fault.times is None:
            return
        if fault.times <= 1:
            db.execute("DELETE FROM faults WHERE id = ?", (fault.id,))
        else:
            db.execute("UPDATE faults SET times = times - 1 WHERE id = ?", (fault.id,))

    # Late changes: requests a `late` fault held back after the client gave up.

    def defer(self, change: Callable[[], object], seconds: float) -> None:
        """Make `change` in `seconds` on a background timer, unless `apply_late()` comes first."""
        entry: tuple[threading.Timer, Callable[[], object]]

        def run() -> None:
            with self._late_lock:
                if entry not in self._late:
                    return  # apply_late() made it already
                self._late.remove(entry)
            change()

        timer = threading.Timer(seconds, run)
        timer.daemon = True
        entry = (timer, change)
        with self._late_lock:
            self._late.append(entry)
        timer.start()

    def late_pending(self) -> int:
        """How many late changes are still waiting."""
        with self._late_lock:
            return len(self._late)

    def apply_late(self) -> int:
        """Make every waiting late change now, oldest first, and return how many there were.

        Tests call it instead of sleeping: after it, the cloud is as if each timer had fired.
        """
        with self._late_lock:
            waiting, self._late = self._late, []
        for timer, change in waiting:
            timer.cancel()
            change()
        return len(waiting)

    # What each member call did: the truth a fault campaign compares the ledger with.

    def log_member_call(
        self, route: str, image_id: str, member_id: str, status: int, global_request_id: str
    ) -> None:
        """Append one handled member create, update or delete and its answer (append-only).

        Written when the change is made, so a late change is logged when it lands and a change
        whose answer was lost (an after-fault) is logged all the same.
        """
        with self.transaction() as db:
            db.execute(
                "INSERT INTO member_calls (at, route, image_id, member_id, status, "
                "global_request_id) VALUES (?, ?, ?, ?, ?, ?)",
                (utcnow().isoformat(), route, image_id, member_id, status, global_request_id),
            )

    def member_calls(self, global_request_id: str | None = None) -> list[MemberCall]:
        """The member calls handled, oldest first; only one caller's request id if given."""
        query, args = "SELECT * FROM member_calls", tuple[str, ...]()
        if global_request_id is not None:
            query, args = query + " WHERE global_request_id = ?", (global_request_id,)
        with self.transaction() as db:
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        return [
            MemberCall(
                row["at"],
                row["route"],
                row["image_id"],
                row["member_id"],
                row["status"],
                row["global_request_id"],
            )  # fmt: skip
            for row in rows
        ]

    # Counters.

    def calls(self, route: str | None = None) -> int:
        with self.transaction() as db:
            if route is None:
                row = db.execute("SELECT COALESCE(SUM(count), 0) FROM calls").fetchone()
            else:
                row = db.execute(
                    "SELECT COALESCE(SUM(count), 0) FROM calls WHERE route = ?", (route,)
                ).fetchone()
        return int(row[0])

    def reset_counters(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM calls")


def _user(row: sqlite3.Row) -> User:
    return User(
        username=row["username"],
        user_id=row["user_id"],
        tenant_id=row["tenant_id"],
        password=row["password"],
        api_key=row["api_key"],
        roles=tuple(json.loads(row["roles"])),
    )


def _image(row: sqlite3.Row) -> Image:
    return Image(
        id=row["id"],
        region=row["region"],
        owner=row["owner"],
        name=row["name"],
        status=row["status"],
        visibility=row["visibility"],
        size=row["size"],
        disk_format=row["disk_format"],
        container_format=row["container_format"],
        protected=bool(row["protected"]),
        min_disk=row["min_disk"],
        min_ram=row["min_ram"],
        tags=json.loads(row["tags"]),
        extra=json.loads(row["extra"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        checksum=row["checksum"],
        os_hash_value=row["os_hash_value"],
        virtual_size=row["virtual_size"],
        stores=row["stores"],
    )


def _image_row(image: Image) -> tuple[Any, ...]:
    return (
        image.id,
        image.region,
        image.owner,
        image.name,
        image.status,
        image.visibility,
        image.size,
        image.disk_format,
        image.container_format,
        int(image.protected),
        image.min_disk,
        image.min_ram,
        json.dumps(image.tags),
        json.dumps(image.extra, ensure_ascii=False),
        image.created_at,
        image.updated_at,
        image.checksum,
        image.os_hash_value,
        image.virtual_size,
        image.stores,
    )


def _member(row: sqlite3.Row) -> Member:
    return Member(
        row["image_id"], row["member_id"], row["status"], row["created_at"], row["updated_at"]
    )


def _fault(row: sqlite3.Row) -> Fault:
    return Fault(
        id=row["id"],
        kind=row["kind"],
        route=row["route"],
        status=row["status"],
        seconds=row["seconds"],
        retry_after=row["retry_after"],
        after=bool(row["after"]),
        times=row["times"],
        rate=row["rate"],
        message=row["message"],
    )
