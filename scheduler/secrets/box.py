"""AES-256-GCM with a key derived from the cluster secret file.

Every scheduler already reads the cluster secret (`secret_file`, the Raft password);
HKDF-SHA256 turns it into a separate key for secrets, so knowing one does not hand
over the other's use. A value is bound to its project and name (associated data):
a ciphertext copied onto another secret's record does not decrypt.
"""
from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from common.errors import FailedPrecondition

_INFO = b"thecloud secrets v1"
_BOXES: dict[str, "SecretBox"] = {}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class SecretBox:
    def __init__(self, cluster_secret: bytes):
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"thecloud",
                         info=_INFO).derive(cluster_secret)
        # Which key sealed a record: a restored backup under another cluster key says so.
        self.key_id = hashlib.sha256(b"key-id:" + self._key).hexdigest()[:12]

    @classmethod
    def from_secret_file(cls, path: Path | str) -> "SecretBox":
        """One box per secret file per process (the file is read once)."""
        key = str(path)
        if key not in _BOXES:
            _BOXES[key] = cls(Path(path).read_text().strip().encode())
        return _BOXES[key]

    @staticmethod
    def _aad(project: str, name: str) -> bytes:
        return f"{project}/{name}".encode()

    def seal(self, project: str, name: str, value: bytes) -> dict:
        """The fields a secret record keeps: nonce, ciphertext (base64), key_id."""
        nonce = os.urandom(12)
        sealed = AESGCM(self._key).encrypt(nonce, value, self._aad(project, name))
        return {"nonce": _b64(nonce), "ciphertext": _b64(sealed), "key_id": self.key_id}

    def open(self, record: dict) -> bytes:
        try:
            return AESGCM(self._key).decrypt(base64.b64decode(record["nonce"]),
                                             base64.b64decode(record["ciphertext"]),
                                             self._aad(record["project"], record["name"]))
        except (InvalidTag, ValueError, KeyError):
            raise FailedPrecondition(
                f"secret {record.get('name')!r} cannot be decrypted with this cluster's key") from None
