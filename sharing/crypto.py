"""Encryption of stored cloud secrets (Fernet; several keys for rotation)."""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    # Keyed by the tuple so a settings override in tests takes effect.
    return _fernet(tuple(settings.CREDENTIALS_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The secret, or a clear error if no configured key opens it."""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError(
            "The stored cloud secret cannot be decrypted with CREDENTIALS_KEY; "
            "was the key rotated without keeping the old one?"
        ) from None
