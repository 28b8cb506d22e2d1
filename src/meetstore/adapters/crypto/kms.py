"""AWS KMS as the master key: data keys are wrapped by KMS Encrypt and opened by KMS Decrypt.

The associated data of the envelope goes to KMS as the encryption context, so a wrapped data key
only opens for the same account and purpose. KMS ciphertexts name their key, so blobs wrapped under
an earlier `MEETSTORE_KMS_KEY_ID` still open after the setting changes; `meetstore keys rotate`
then re-wraps them under the new key.
"""

from __future__ import annotations

import hashlib
from typing import Any

import boto3
from botocore.config import Config
from pydantic import SecretStr

from meetstore.adapters.crypto.envelope import DecryptionError

KMS_PREFIX = "kms-"


class KmsKeyProvider:
    def __init__(
        self,
        key_id: str,
        *,
        region: str,
        endpoint_url: str | None = None,
        access_key_id: SecretStr | None = None,
        secret_access_key: SecretStr | None = None,
    ) -> None:
        keys: dict[str, str] = {}
        if access_key_id is not None and secret_access_key is not None:
            keys = {
                "aws_access_key_id": access_key_id.get_secret_value(),
                "aws_secret_access_key": secret_access_key.get_secret_value(),
            }
        self._key_id = key_id
        self._id = KMS_PREFIX + hashlib.sha256(key_id.encode()).hexdigest()[:16]
        self._kms: Any = boto3.session.Session().client(
            "kms",
            region_name=region,
            endpoint_url=endpoint_url,
            config=Config(
                connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 3, "mode": "standard"}
            ),
            **keys,
        )

    @staticmethod
    def _context(aad: bytes) -> dict[str, str]:
        return {"meetstore": aad.decode("utf-8")}

    def current_key_id(self) -> str:
        return self._id

    def wrap(self, dek: bytes, aad: bytes) -> tuple[str, bytes]:
        resp = self._kms.encrypt(KeyId=self._key_id, Plaintext=dek, EncryptionContext=self._context(aad))
        return self._id, bytes(resp["CiphertextBlob"])

    def unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes:
        if not key_id.startswith(KMS_PREFIX):
            raise DecryptionError(f"master key {key_id} is not a KMS key")
        try:
            resp = self._kms.decrypt(CiphertextBlob=wrapped, EncryptionContext=self._context(aad))
        except Exception as exc:
            raise DecryptionError("KMS could not open the data key") from exc
        return bytes(resp["Plaintext"])
