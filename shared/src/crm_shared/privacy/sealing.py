"""AES-256-GCM sealing of JSON values under a data subject's key; no I/O."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crm_shared.events.contracts import ContractModel

NONCE_BYTES = 12
KEY_BYTES = 32


class SealError(Exception):
    """A sealed value that this key cannot open (wrong key, tampered or not a sealed value)."""


class Sealed(ContractModel):
    """Personal data encrypted under one data subject's key.

    ``ciphertext`` is the AES-256-GCM encryption (tag appended) of the UTF-8 JSON of the value,
    with ``key_id`` as associated data; both are base64 (RFC 4648, standard alphabet). Whoever
    holds the subject's key opens it with ``unseal``; once the key is destroyed (erasure),
    nobody can.
    """

    alg: Literal["A256GCM", "none"] = "A256GCM"
    """``none``: data written before sealing existed, base64 JSON in the clear (upcast v1)."""
    key_id: str
    """The data subject whose key sealed the value (e.g. the contact id)."""
    nonce: str
    ciphertext: str


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def seal(key: bytes, key_id: str, value: Any) -> Sealed:
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, key_id.encode())
    return Sealed(key_id=key_id, nonce=_b64(nonce), ciphertext=_b64(ciphertext))


def unseal(key: bytes, sealed: Sealed) -> Any:
    if sealed.alg == "none":
        return json.loads(base64.b64decode(sealed.ciphertext))
    try:
        plaintext = AESGCM(key).decrypt(
            base64.b64decode(sealed.nonce),
            base64.b64decode(sealed.ciphertext),
            sealed.key_id.encode(),
        )
    except (InvalidTag, ValueError) as error:
        raise SealError(f"cannot open the value sealed for {sealed.key_id}") from error
    return json.loads(plaintext)


@dataclass(frozen=True)
class SubjectCipher:
    """Seals and opens one subject's personal data; once erased it opens nothing."""

    subject_id: str
    key: bytes | None
    erased: bool = False

    def seal(self, value: Any) -> Sealed:
        if self.key is None:
            raise SealError(f"{self.subject_id} has no data key: nothing can be sealed for it")
        return seal(self.key, self.subject_id, value)

    def open(self, sealed: Sealed) -> Any | None:
        """The value, or None once the subject is erased."""
        if self.erased:
            return None
        if sealed.alg == "none":
            return unseal(b"", sealed)
        if self.key is None:
            raise SealError(f"{self.subject_id} has no data key: its values cannot be opened")
        return unseal(self.key, sealed)


@dataclass(frozen=True)
class KeyEncryptionKey:
    """The service's master key, which wraps every data key at rest (envelope encryption)."""

    key: bytes

    @classmethod
    def from_base64(cls, encoded: str) -> KeyEncryptionKey:
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise ValueError("the key-encryption key is not base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(f"the key-encryption key must be {KEY_BYTES} bytes, not {len(key)}")
        return cls(key)

    def wrap(self, subject_id: str, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self.key).encrypt(nonce, data_key, subject_id.encode())

    def unwrap(self, subject_id: str, wrapped: bytes) -> bytes:
        try:
            return AESGCM(self.key).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], subject_id.encode()
            )
        except InvalidTag as error:
            raise SealError(
                f"the data key of {subject_id} does not open with this key-encryption key"
            ) from error


def in_the_clear(key_id: str, value: Any) -> Sealed:
    """How data from before sealing reads: not encrypted (``alg`` ``none``)."""
    plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return Sealed(alg="none", key_id=key_id, nonce="", ciphertext=_b64(plaintext))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
