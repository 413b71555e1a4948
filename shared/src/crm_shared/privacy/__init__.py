"""Personal data sealed per data subject, so that erasure is the destruction of one key.

Events keep personal data only as ``Sealed`` values: AES-256-GCM under the subject's own data
key. Data keys live outside the log, wrapped by the service's key-encryption key
(``crm_shared.privacy.keystore``, the only module here that does I/O). Erasing a subject
destroys its data key: every copy of its events, in the store, on Kafka, in backups, becomes
unreadable while the log stays immutable.
"""

from crm_shared.privacy.sealing import (
    KeyEncryptionKey,
    Sealed,
    SealError,
    SubjectCipher,
    in_the_clear,
    new_data_key,
    seal,
    unseal,
)

__all__ = [
    "KeyEncryptionKey",
    "SealError",
    "Sealed",
    "SubjectCipher",
    "in_the_clear",
    "new_data_key",
    "seal",
    "unseal",
]
