"""The tools' side of SASL: PLAIN and SCRAM-SHA-256/512 (RFC 5802), so that
they reach brokers that require authentication, kgw's or Kafka's."""

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from typing import Generator

from ..sasl import PLAIN, SCRAM_HASHES


@dataclass(frozen=True)
class Credentials:
    mechanism: str
    username: str
    password: str = field(repr=False)


class ServerNotTrusted(Exception):
    """The broker's last SCRAM message does not prove it knows the password."""


def conversation(credentials: Credentials, nonce: str | None = None) -> Generator[bytes, bytes, None]:
    """The client's tokens: each `yield` is sent in a SaslAuthenticate, and
    the broker's answer is sent back in."""
    if credentials.mechanism == PLAIN:
        yield f"\0{credentials.username}\0{credentials.password}".encode()
        return
    hash_name = SCRAM_HASHES[credentials.mechanism]
    name = credentials.username.replace("=", "=3D").replace(",", "=2C")
    nonce = nonce or base64.b64encode(os.urandom(24)).decode()
    client_first_bare = f"n={name},r={nonce}"
    server_first = (yield f"n,,{client_first_bare}".encode()).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(",") if "=" in item)
    if not fields.get("r", "").startswith(nonce) or "s" not in fields or "i" not in fields:
        raise ServerNotTrusted(f"unexpected SCRAM server message {server_first!r}")
    salted = hashlib.pbkdf2_hmac(hash_name, credentials.password.encode(), base64.b64decode(fields["s"]),
                                 int(fields["i"]))
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
    client_key = hmac.digest(salted, b"Client Key", hash_name)
    signature = hmac.digest(hashlib.new(hash_name, client_key).digest(), auth_message, hash_name)
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode()
    server_final = yield f"{without_proof},p={proof}".encode()
    expected = hmac.digest(hmac.digest(salted, b"Server Key", hash_name), auth_message, hash_name)
    if not hmac.compare_digest(server_final, b"v=" + base64.b64encode(expected)):
        raise ServerNotTrusted("the broker's SCRAM signature is wrong: it does not know the password")
