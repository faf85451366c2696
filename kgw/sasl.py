"""SASL authentication on kgw's listener (Kafka's SASL_PLAINTEXT): PLAIN,
SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), against users given
at start-up.

With users configured, a connection may send ApiVersions, then
SaslHandshake v1 and SaslAuthenticate until it is authenticated; anything
else closes it, as Kafka's SaslServerAuthenticator does. A failed
authentication is answered with SASL_AUTHENTICATION_FAILED and then the
connection is closed, as in Kafka. The secrets never leave memory: SCRAM
credentials are derived at start-up with a random salt, as Kafka stores
them, and no password is logged.
"""

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import Mapping

from protocol.error_codes import ErrorCode
from protocol.errors import ProtocolError
from protocol.messages import APIS, SASL_AUTHENTICATE, SASL_HANDSHAKE

PLAIN = "PLAIN"
SCRAM_HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
MECHANISMS = (PLAIN, *SCRAM_HASHES)
# Kafka's minimum for SCRAM credentials, and what its tools use by default.
SCRAM_ITERATIONS = 4096
# SaslHandshake v0 is followed by raw SASL tokens outside Kafka's framing,
# which kgw does not read: it is answered UNSUPPORTED_VERSION. It is still
# advertised, as librdkafka < 2.11.1 uses SASL only if v0 lies in the range.
AUTHENTICATE_HANDSHAKE = 1
# Kafka's connection.failed.authentication.delay.ms (KIP-306): a failed
# attempt is answered, and the connection closed, only after it, which
# slows down guessing.
FAILED_AUTHENTICATION_DELAY_S = 0.1


class AuthenticationFailed(Exception):
    """What the client is told, in SaslAuthenticate's error message."""


@dataclass(frozen=True)
class ScramCredential:
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def scram_credential(hash_name: str, password: str, salt: bytes,
                     iterations: int = SCRAM_ITERATIONS) -> ScramCredential:
    salted = hashlib.pbkdf2_hmac(hash_name, password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", hash_name)
    return ScramCredential(salt, iterations, hashlib.new(hash_name, client_key).digest(),
                           hmac.digest(salted, b"Server Key", hash_name))


class Users:
    """The users who may connect, and their SCRAM credentials."""

    def __init__(self, passwords: Mapping[str, str]):
        if not passwords:
            raise ValueError("SASL needs at least one user")
        for name in passwords:
            if not name or "\0" in name:
                raise ValueError(f"invalid SASL user name {name!r}")
        self._passwords = {name: password.encode() for name, password in passwords.items()}
        self._scram = {
            mechanism: {name: scram_credential(hash_name, password, os.urandom(32))
                        for name, password in passwords.items()}
            for mechanism, hash_name in SCRAM_HASHES.items()}

    def password_matches(self, name: str, password: bytes) -> bool:
        expected = self._passwords.get(name)
        # compare_digest: how long the comparison takes says nothing of how
        # much of the password was right.
        return expected is not None and hmac.compare_digest(expected, password)

    def scram(self, mechanism: str, name: str) -> ScramCredential | None:
        return self._scram[mechanism].get(name)


class Authenticator:
    """One connection's way through SaslHandshake and SaslAuthenticate."""

    def __init__(self, users: Users):
        self._users = users
        self._mechanism: str | None = None
        self._scram_state: tuple[str, ScramCredential, str, str, str, str] | None = None
        self.user: str | None = None

    @property
    def mechanism(self) -> str | None:
        return self._mechanism

    def answer(self, request):
        """The response to a request sent before authentication completed,
        and whether the connection must be closed after it."""
        if request.api_key == SASL_HANDSHAKE.key:
            if request.api_version != AUTHENTICATE_HANDSHAKE:
                return _handshake_response(ErrorCode.UNSUPPORTED_VERSION), True
            return self._handshake(request.body.mechanism)
        if request.api_key == SASL_AUTHENTICATE.key:
            return self._authenticate(request.body.auth_bytes)
        # Kafka: "Unexpected Kafka request of type ... during SASL handshake."
        raise ProtocolError(f"{APIS[request.api_key].name} v{request.api_version} before SASL "
                            "authentication")

    def _handshake(self, mechanism: str):
        if self._mechanism is not None:
            return _handshake_response(ErrorCode.ILLEGAL_SASL_STATE), True
        if mechanism not in MECHANISMS:
            return _handshake_response(ErrorCode.UNSUPPORTED_SASL_MECHANISM), True
        self._mechanism = mechanism
        return _handshake_response(ErrorCode.NONE), False

    def _authenticate(self, token: bytes):
        Response = SASL_AUTHENTICATE.Response
        if self._mechanism is None:
            return Response(error_code=ErrorCode.ILLEGAL_SASL_STATE, auth_bytes=b"",
                            error_message="SaslAuthenticate before SaslHandshake"), True
        mechanism = self._mechanism
        try:
            reply = self._plain(token) if mechanism == PLAIN else self._scram(mechanism, bytes(token))
        except AuthenticationFailed as exc:
            return Response(error_code=ErrorCode.SASL_AUTHENTICATION_FAILED, error_message=str(exc),
                            auth_bytes=b""), True
        return Response(error_code=ErrorCode.NONE, error_message=None, auth_bytes=reply), False

    @property
    def done(self) -> bool:
        return self.user is not None

    def _plain(self, token) -> bytes:
        parts = bytes(token).split(b"\0")
        if len(parts) != 3:
            raise AuthenticationFailed("Invalid SASL/PLAIN response: expected 3 tokens")
        authzid, name = (p.decode("utf-8", "replace") for p in parts[:2])
        password = parts[2]
        if authzid and authzid != name:
            raise AuthenticationFailed("Authentication failed: Client requested an authorization id "
                                       "that is different from username")
        if not self._users.password_matches(name, password):
            raise AuthenticationFailed("Authentication failed: Invalid username or password")
        self.user = name
        return b""

    def _scram(self, mechanism: str, token: bytes) -> bytes:
        if self._scram_state is None:
            return self._scram_first(mechanism, token)
        return self._scram_final(mechanism, token)

    def _invalid_credentials(self) -> AuthenticationFailed:
        return AuthenticationFailed("Authentication failed during authentication due to invalid "
                                    f"credentials with SASL mechanism {self._mechanism}")

    def _scram_first(self, mechanism: str, token: bytes) -> bytes:
        match = _CLIENT_FIRST.fullmatch(token.decode("utf-8", "replace"))
        if match is None:
            raise AuthenticationFailed("Invalid SCRAM client first message")
        if match["extensions"] and "tokenauth=true" in match["extensions"].split(","):
            raise AuthenticationFailed("kgw has no delegation tokens")
        name = match["name"].replace("=2C", ",").replace("=3D", "=")
        if match["authzid"] and match["authzid"] != name:
            raise AuthenticationFailed("Authentication failed: Client requested an authorization id "
                                       "that is different from username")
        credential = self._users.scram(mechanism, name)
        if credential is None:
            raise self._invalid_credentials()
        nonce = match["nonce"] + base64.b64encode(os.urandom(18)).decode()
        server_first = f"r={nonce},s={base64.b64encode(credential.salt).decode()},i={credential.iterations}"
        self._scram_state = (name, credential, match["gs2"], match["bare"], server_first, nonce)
        return server_first.encode()

    def _scram_final(self, mechanism: str, token: bytes) -> bytes:
        if self._scram_state is None:
            raise AuthenticationFailed("SCRAM client final message before the first")
        name, credential, gs2, client_first_bare, server_first, nonce = self._scram_state
        match = _CLIENT_FINAL.fullmatch(token.decode("utf-8", "replace"))
        if match is None:
            raise AuthenticationFailed("Invalid SCRAM client final message")
        # endswith, as Kafka checks it: librdkafka 2.0.2 (kcat) sends its
        # own nonce again in front of the combined one.
        if not match["nonce"].endswith(nonce):
            raise AuthenticationFailed("Invalid client nonce in the final client message.")
        if _b64(match["binding"]) != gs2.encode():
            raise self._invalid_credentials()
        proof = _b64(match["proof"])
        hash_name = SCRAM_HASHES[mechanism]
        auth_message = f"{client_first_bare},{server_first},{match['without_proof']}".encode()
        signature = hmac.digest(credential.stored_key, auth_message, hash_name)
        if proof is None or len(proof) != len(signature):
            raise self._invalid_credentials()
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if not hmac.compare_digest(hashlib.new(hash_name, client_key).digest(), credential.stored_key):
            raise self._invalid_credentials()
        self.user = name
        server_signature = hmac.digest(credential.server_key, auth_message, hash_name)
        return b"v=" + base64.b64encode(server_signature)


# RFC 5802 messages, as far as Kafka takes them: no channel binding
# ("n"), an optional authzid, an ASCII user name with "," and "=" escaped,
# and extensions (KIP-84's tokenauth) after the nonce.
_CLIENT_FIRST = re.compile(
    r"(?P<gs2>n,(?:a=(?P<authzid>[^,]*))?,)"
    r"(?P<bare>n=(?P<name>(?:[\x01-\x2b\x2d-\x3c\x3e-\x7f]|=2C|=3D)+),"
    r"r=(?P<nonce>[\x21-\x2b\x2d-\x7e]+)(?:,(?P<extensions>.*))?)")
_CLIENT_FINAL = re.compile(
    r"(?P<without_proof>c=(?P<binding>[A-Za-z0-9+/=]*),r=(?P<nonce>[^,]+)(?:,[^,]*)*?)"
    r",p=(?P<proof>[A-Za-z0-9+/=]+)")


def _handshake_response(error_code: ErrorCode):
    return SASL_HANDSHAKE.Response(error_code=error_code, mechanisms=list(MECHANISMS))


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return None
