"""Encryption at rest for personal data (phone and ID numbers), with a blind index for lookups.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under HUIJIA_DATA_KEYS; the first key
encrypts and every key decrypts, so keys can be rotated. Equality lookups (is this ID number already
registered?) use a keyed HMAC of the normalised value, never the plaintext.
"""

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.HUIJIA_DATA_KEYS])


@cache
def _index_key() -> bytes:
    return hashlib.sha256(b"huijia-blind-index:" + settings.HUIJIA_DATA_KEYS[-1].encode()).digest()


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("personal data could not be decrypted with the configured keys") from None


def blind_index(value: str) -> str:
    """A stable keyed digest of a normalised value, for unique constraints and lookups."""
    return hmac.new(_index_key(), value.strip().upper().encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """Stores a string encrypted; reads it back decrypted. Empty stays empty (no ciphertext)."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
