"""Sealing: only the subject's key opens a value; data keys are wrapped by the service's KEK."""

from __future__ import annotations

import base64

import pytest

from crm_shared.privacy import (
    KeyEncryptionKey,
    SealError,
    SubjectCipher,
    new_data_key,
    seal,
    unseal,
)


def test_a_sealed_value_opens_with_its_key_only() -> None:
    key = new_data_key()
    sealed = seal(key, "c-1", {"name": "Ada Lovelace"})
    assert "Ada" not in sealed.model_dump_json()
    assert unseal(key, sealed) == {"name": "Ada Lovelace"}
    with pytest.raises(SealError):
        unseal(new_data_key(), sealed)


def test_a_value_moved_to_another_subject_does_not_open() -> None:
    key = new_data_key()
    sealed = seal(key, "c-1", "secret")
    with pytest.raises(SealError):
        unseal(key, sealed.model_copy(update={"key_id": "c-2"}))


def test_the_same_value_seals_differently_each_time() -> None:
    key = new_data_key()
    assert seal(key, "c-1", "x").ciphertext != seal(key, "c-1", "x").ciphertext


def test_an_erased_subject_opens_nothing_and_seals_nothing() -> None:
    sealed = seal(new_data_key(), "c-1", "x")
    erased = SubjectCipher("c-1", None, erased=True)
    assert erased.open(sealed) is None
    with pytest.raises(SealError):
        erased.seal("y")


def test_data_keys_are_wrapped_for_one_subject_by_the_key_encryption_key() -> None:
    kek = KeyEncryptionKey.from_base64(base64.b64encode(bytes(range(32))).decode())
    key = new_data_key()
    wrapped = kek.wrap("c-1", key)
    assert key not in wrapped
    assert kek.unwrap("c-1", wrapped) == key
    with pytest.raises(SealError):
        kek.unwrap("c-2", wrapped)


@pytest.mark.parametrize("encoded", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_key_encryption_key_is_refused(encoded: str) -> None:
    with pytest.raises(ValueError, match="key-encryption key"):
        KeyEncryptionKey.from_base64(encoded)
