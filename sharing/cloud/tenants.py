"""Tenant (member) IDs, checked before they reach the cloud.

Glance takes any non-empty string as a member and never checks that the project exists, so a
typo quietly shares with nobody (docs/glance.md §2.1, §7.7). The format is set per team.
"""

import re

TENANT_FORMATS = (
    ("rackspace", "Rackspace account number (digits)"),
    ("keystone", "Keystone project ID (32 hex characters)"),
    ("free", "Any ID without spaces"),
)
MAX_LENGTH = 255
_RACKSPACE = re.compile(r"[0-9]+")
_KEYSTONE = re.compile(r"[0-9a-fA-F]{32}")


def validate_tenant_id(value: str, fmt: str) -> str:
    """The tenant ID, normalised (surrounding spaces dropped, Keystone IDs lowercased).

    Raises `ValueError` with a message for the person who typed it.
    """
    if fmt not in dict(TENANT_FORMATS):
        raise ValueError(f"Unknown tenant ID format {fmt!r}.")
    value = value.strip()
    if not value:
        raise ValueError("A tenant ID cannot be empty.")
    if len(value) > MAX_LENGTH:
        raise ValueError(f"A tenant ID has at most {MAX_LENGTH} characters.")
    if any(char.isspace() for char in value):
        raise ValueError(f"{value!r} contains spaces; a tenant ID has none.")
    if fmt == "rackspace" and not _RACKSPACE.fullmatch(value):
        raise ValueError(f"{value!r} is not a Rackspace account number (digits only).")
    if fmt == "keystone":
        if not _KEYSTONE.fullmatch(value):
            raise ValueError(f"{value!r} is not a Keystone project ID (32 hexadecimal characters).")
        return value.lower()
    return value
