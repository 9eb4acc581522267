"""The endpoints' signing secrets are stored encrypted (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

Whoever reads the database (a backup, a read replica, a support query) must not be able to sign events as us.
The key comes from `CQRS_WEBHOOKS_SECRET_KEY`; outside dev mode there is no default and nothing that stores or
reads secrets starts without it. Rows written before encryption (`whsec_…` in clear) are still read, and
`encrypt_plaintext_secrets` rewrites them encrypted when the writer's registry or the agent opens.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from streams.webhooks.errors import MissingSecretKey, WebhookError
from streams.webhooks.settings import WebhookSettings
from streams.webhooks.signature import SECRET_PREFIX

# Public on purpose, like the dev JWT secret: it only keeps a developer's database from holding secrets in clear.
DEV_SECRET_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"cqrs-orders dev-only webhook secret key").digest())


class UndecryptableSecret(WebhookError):
    """A stored secret none of the configured keys decrypts (a key was rotated out too early, or is wrong)."""


class SecretCipher:
    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        if stored.startswith(SECRET_PREFIX):  # written before secrets were encrypted
            return stored
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret("a webhook secret does not decrypt with CQRS_WEBHOOKS_SECRET_KEY") from None


def secret_cipher(settings: WebhookSettings) -> SecretCipher:
    """The cipher of these settings; `MissingSecretKey` outside dev mode without a key, or with a malformed one."""
    if settings.secret_key is None:
        if not settings.dev_mode:
            raise MissingSecretKey(
                "CQRS_WEBHOOKS_SECRET_KEY is not set: the webhook secrets are stored encrypted with it; generate one"
                " with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
                " (or set CQRS_DEV_MODE=1 on a developer machine)"
            )
        return SecretCipher([DEV_SECRET_KEY])
    keys = [key.strip().encode() for key in settings.secret_key.get_secret_value().split(",") if key.strip()]
    try:
        return SecretCipher(keys)
    except ValueError:  # Fernet: not 32 url-safe base64-encoded bytes; MultiFernet: no key at all
        raise MissingSecretKey("CQRS_WEBHOOKS_SECRET_KEY must be Fernet keys (url-safe base64 of 32 bytes)") from None


_PLAINTEXT = "SELECT id, secret FROM webhook_endpoints WHERE starts_with(secret, %s) FOR UPDATE"
_SEAL = "UPDATE webhook_endpoints SET secret = %s WHERE id = %s"


async def encrypt_plaintext_secrets(conn: AsyncConnection[TupleRow], cipher: SecretCipher) -> int:
    """Encrypt the secrets still stored in clear (rows from before encryption); how many. Safe to repeat."""
    async with conn.transaction():
        rows = await (await conn.execute(_PLAINTEXT, (SECRET_PREFIX,))).fetchall()
        for endpoint_id, secret in rows:
            await conn.execute(_SEAL, (cipher.seal(secret), endpoint_id))
    return len(rows)
