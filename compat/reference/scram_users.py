"""SCRAM users for the reference Kafka, set with AlterUserScramCredentials
v0 (KIP-554) over a listener without SASL.

Kafka's storage tool takes SCRAM users too (`--add-scram`), but its parser
splits on ',' and '=' inside a name, and a user name holding them is what
compat/sasl tests. kgw's codec does not declare this API (kgw has no SCRAM
admin API), so this module writes its one request and reads its one
response itself; field layout from AlterUserScramCredentialsRequest.json.
"""

import hashlib
import os
import socket
import struct

from protocol import primitives as p

API_KEY = 51
VERSION = 0  # flexible from v0: compact strings and arrays, tagged fields
MECHANISMS = {"SCRAM-SHA-256": (1, "sha256"), "SCRAM-SHA-512": (2, "sha512")}
ITERATIONS = 4096  # Kafka's minimum, and what its tools default to
NO_TAGS = b"\x00"


def _request(correlation_id: int, mechanism: str, users: dict[str, str]) -> bytes:
    code, hash_name = MECHANISMS[mechanism]
    upsertions = []
    for name, password in users.items():
        salt = os.urandom(32)
        salted = hashlib.pbkdf2_hmac(hash_name, password.encode(), salt, ITERATIONS)
        upsertions.append(p.write_compact_string(name) + struct.pack(">bi", code, ITERATIONS)
                          + p.write_compact_bytes(salt) + p.write_compact_bytes(salted) + NO_TAGS)
    header = struct.pack(">hhi", API_KEY, VERSION, correlation_id) + p.write_nullable_string("kgw-compat") + NO_TAGS
    body = (p.write_unsigned_varint(1)  # no deletions
            + p.write_unsigned_varint(len(upsertions) + 1) + b"".join(upsertions) + NO_TAGS)
    frame = header + body
    return struct.pack(">i", len(frame)) + frame


def _read_results(frame: bytes, correlation_id: int) -> list[tuple[str, int, str | None]]:
    (got,) = struct.unpack_from(">i", frame)
    assert got == correlation_id, f"answer to correlation id {got}, not {correlation_id}"
    pos = 4 + 1 + 4  # correlation id, the header's empty tagged fields, throttle time
    count, pos = p.read_unsigned_varint(frame, pos)
    results = []
    for _ in range(count - 1):
        name, pos = p.read_compact_string(frame, pos)
        (code,), pos = struct.unpack_from(">h", frame, pos), pos + 2
        message, pos = p.read_compact_nullable_string(frame, pos)
        pos += 1  # the result's empty tagged fields
        results.append((name, code, message))
    return results


def upsert(host: str, port: int, users: dict[str, str], timeout: float = 30) -> None:
    """Give every user both SCRAM mechanisms with its password; raises if
    Kafka refuses any. One request per mechanism: Kafka refuses a request
    that names a user twice."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        for correlation_id, mechanism in enumerate(MECHANISMS, start=1):
            sock.sendall(_request(correlation_id, mechanism, users))
            refused = [result for result in _read_results(_receive_frame(sock), correlation_id) if result[1]]
            if refused:
                raise RuntimeError(f"AlterUserScramCredentials {mechanism} refused: {refused}")


def _receive_frame(sock: socket.socket) -> bytes:
    data = b""
    while len(data) < 4 or len(data) < 4 + struct.unpack_from(">i", data)[0]:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("Kafka closed the connection instead of answering AlterUserScramCredentials")
        data += chunk
    return data[4:]
