"""Tenant IDs are checked before they reach the cloud, which accepts any string
(docs/glance.md §2.1)."""

import pytest

from sharing.cloud import TENANT_FORMATS, validate_tenant_id

HEX = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        ("100002", "rackspace", "100002"),
        (" 100002\n", "rackspace", "100002"),
        (HEX, "keystone", HEX),
        (HEX.upper(), "keystone", HEX),
        ("tenant-y", "free", "tenant-y"),
        ("x" * 255, "free", "x" * 255),
    ],
)
def test_it_accepts_and_normalises_valid_ids(value, fmt, expected):
    assert validate_tenant_id(value, fmt) == expected


@pytest.mark.parametrize(
    ("value", "fmt", "message"),
    [
        ("abc", "rackspace", "'abc' is not a Rackspace account number (digits only)."),
        ("١٢٣", "rackspace", "is not a Rackspace account number"),  # digits, but not ASCII
        ("12 34", "rackspace", "'12 34' contains spaces; a tenant ID has none."),
        (HEX[:-1], "keystone", "is not a Keystone project ID (32 hexadecimal characters)."),
        (HEX[:-1] + "g", "keystone", "is not a Keystone project ID"),
        ("a\tb", "free", "contains spaces"),
        ("", "free", "A tenant ID cannot be empty."),
        ("   ", "rackspace", "A tenant ID cannot be empty."),
        ("1" * 256, "rackspace", "A tenant ID has at most 255 characters."),
    ],
)
def test_it_refuses_invalid_ids_in_plain_words(value, fmt, message):
    with pytest.raises(ValueError) as caught:
        validate_tenant_id(value, fmt)

    assert message in str(caught.value)


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="Unknown tenant ID format"):
        validate_tenant_id("100002", "aws")


def test_the_formats_are_choices_for_a_model_field():
    assert [value for value, _label in TENANT_FORMATS] == ["rackspace", "keystone", "free"]
