"""SASL: the mechanisms against RFC 7677's example, the tools' client and
crafted messages, the handshake's rules, and a live server that requires it."""

import base64
import hashlib
import hmac
import pytest
import trio

from kgw.sasl import FAILED_AUTHENTICATION_DELAY_S, Authenticator, Users, scram_credential
from kgw.tools.sasl import Credentials, conversation
from protocol.connection import CLOSED, Request
from protocol.error_codes import ErrorCode
from protocol.errors import ProtocolError
from protocol.messages import API_VERSIONS, METADATA, SASL_AUTHENTICATE, SASL_HANDSHAKE

from .server_harness import Client, running_server

HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}

# RFC 7677, section 3: user "user", password "pencil".
RFC_CLIENT_FIRST_BARE = "n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_FIRST = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
RFC_FINAL_WITHOUT_PROOF = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_PROOF = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
RFC_SERVER_SIGNATURE = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def client_final(hash_name, password, client_first_bare, server_first, channel_binding="biws",
                 nonce=None):
    """The client's final message and the server signature it expects."""
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    salted = hashlib.pbkdf2_hmac(hash_name, password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.digest(salted, b"Client Key", hash_name)
    without_proof = f"c={channel_binding},r={nonce or fields['r']}"
    auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
    signature = hmac.digest(hashlib.new(hash_name, client_key).digest(), auth_message, hash_name)
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    server_signature = hmac.digest(hmac.digest(salted, b"Server Key", hash_name), auth_message, hash_name)
    return f"{without_proof},p={base64.b64encode(proof).decode()}", base64.b64encode(server_signature).decode()


def test_the_client_here_and_the_credentials_agree_with_rfc_7677():
    final, server_signature = client_final("sha256", "pencil", RFC_CLIENT_FIRST_BARE, RFC_SERVER_FIRST)
    assert final == f"{RFC_FINAL_WITHOUT_PROOF},p={RFC_PROOF}"
    assert server_signature == RFC_SERVER_SIGNATURE
    credential = scram_credential("sha256", "pencil", base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="))
    auth_message = f"{RFC_CLIENT_FIRST_BARE},{RFC_SERVER_FIRST},{RFC_FINAL_WITHOUT_PROOF}".encode()
    signature = hmac.digest(credential.stored_key, auth_message, "sha256")
    client_key = bytes(a ^ b for a, b in zip(base64.b64decode(RFC_PROOF), signature))
    assert hashlib.sha256(client_key).digest() == credential.stored_key
    assert base64.b64encode(hmac.digest(credential.server_key, auth_message, "sha256")).decode() == \
        RFC_SERVER_SIGNATURE


def request(api, version, **fields):
    return Request(api.key, version, 1, "test", api.Request(**fields))


def handshake(auth, mechanism, version=1):
    return auth.answer(request(SASL_HANDSHAKE, version, mechanism=mechanism))


def authenticate(auth, token: bytes):
    return auth.answer(request(SASL_AUTHENTICATE, 2, auth_bytes=token))


@pytest.fixture(scope="module")
def users():
    return Users({"alice": "s3cret", "b,o=b": "pw"})


@pytest.mark.parametrize("mechanism", list(HASHES))
@pytest.mark.parametrize("name, escaped, password", [("alice", "alice", "s3cret"), ("b,o=b", "b=2Co=3Db", "pw")])
def test_scram_authenticates_the_tools_client(users, mechanism, name, escaped, password):
    auth = Authenticator(users)
    body, close = handshake(auth, mechanism)
    assert (body.error_code, body.mechanisms, close) == (0, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], False)
    steps = conversation(Credentials(mechanism, name, password), nonce="fyko+d2lbbFgONRv9qkxdawL")
    client_first = next(steps)
    assert client_first == f"n,,n={escaped},r=fyko+d2lbbFgONRv9qkxdawL".encode()
    server_first, close = authenticate(auth, client_first)
    assert (server_first.error_code, close, auth.done) == (0, False, False)
    assert server_first.auth_bytes.startswith(b"r=fyko+d2lbbFgONRv9qkxdawL")
    assert server_first.auth_bytes.endswith(b",i=4096")
    body, close = authenticate(auth, steps.send(bytes(server_first.auth_bytes)))
    assert (body.error_code, body.error_message, close) == (0, "", False)
    with pytest.raises(StopIteration):  # the server's signature convinced the client
        steps.send(bytes(body.auth_bytes))
    assert (auth.done, auth.user, auth.mechanism) == (True, name, mechanism)


def scram_failure(users, mechanism, name, password, **final_options):
    auth = Authenticator(users)
    handshake(auth, mechanism)
    first_bare = f"n={name},r=abcdef"
    server_first, close = authenticate(auth, f"n,,{first_bare}".encode())
    if server_first.error_code:
        return auth, server_first, close
    final, _ = client_final(HASHES[mechanism], password, first_bare, server_first.auth_bytes.decode(),
                            **final_options)
    return (auth, *authenticate(auth, final.encode()))


GENERIC_256 = ("Authentication failed during authentication due to invalid credentials with SASL "
               "mechanism SCRAM-SHA-256")


@pytest.mark.parametrize("name, password, options", [
    ("alice", "wrong", {}),
    ("mallory", "s3cret", {}),
    ("alice", "s3cret", {"nonce": "abcdef"}),
])
def test_scram_refusals_close_the_connection(users, name, password, options):
    """Kafka's one answer to each: its SaslException's own message
    ("Invalid client nonce in the final client message.") stays on the
    broker."""
    auth, body, close = scram_failure(users, "SCRAM-SHA-256", name, password, **options)
    assert (body.error_code, body.error_message, close) == (ErrorCode.SASL_AUTHENTICATION_FAILED, GENERIC_256, True)
    assert not auth.done


def test_scram_refuses_its_nonce_repeated_in_front_as_librdkafka_2_0_sends_it(users):
    """Kafka 4.4 wants the combined nonce exactly (RFC 5802); librdkafka
    2.0.2 (kcat) sends its own nonce again in front of it, and signs that."""
    auth = Authenticator(users)
    handshake(auth, "SCRAM-SHA-512")
    first_bare = "n=alice,r=abcdef"
    server_first = authenticate(auth, f"n,,{first_bare}".encode())[0].auth_bytes.decode()
    combined = server_first.split(",")[0][2:]
    final, _ = client_final("sha512", "s3cret", first_bare, server_first, nonce="abcdef" + combined)
    body, close = authenticate(auth, final.encode())
    assert (body.error_code, body.error_message, close, auth.user) == (
        ErrorCode.SASL_AUTHENTICATION_FAILED, GENERIC_256.replace("256", "512"), True, None)


@pytest.mark.parametrize("channel_binding, extension, accepted", [
    ("biws", "", True), ("eSws", "", True), ("biws", ",x=1", False)])
def test_scram_signs_the_final_message_as_kafka_parses_it(users, channel_binding, extension, accepted):
    """Kafka does not compare the channel binding with the gs2 header, and
    signs the final message rebuilt from its parsed binding and nonce, so
    a proof over an extension it dropped fails."""
    auth = Authenticator(users)
    handshake(auth, "SCRAM-SHA-256")
    first_bare = "n=alice,r=abcdef"
    server_first = authenticate(auth, f"n,,{first_bare}".encode())[0].auth_bytes.decode()
    combined = server_first.split(",")[0][2:]
    # An extension follows the nonce: "r=<nonce>,x=1", signed as sent.
    final, _ = client_final("sha256", "s3cret", first_bare, server_first, channel_binding=channel_binding,
                            nonce=combined + extension)
    body, close = authenticate(auth, final.encode())
    assert (body.error_code == ErrorCode.NONE, close, auth.done) == (accepted, not accepted, accepted)
    assert body.error_message == ("" if accepted else GENERIC_256)


@pytest.mark.parametrize("token", [b"n,,r=nameless", b"p=tls-unique,,n=alice,r=x", b"garbage",
                                   b"n,,n=alice,r=x,tokenauth=true", b"n,a=bob,n=alice,r=x",
                                   b"n,,n=b,o=b,r=x", "n,,n=b\u00f6b,r=x".encode()])
def test_scram_malformed_or_refused_first_messages(users, token):
    auth = Authenticator(users)
    handshake(auth, "SCRAM-SHA-256")
    body, close = authenticate(auth, token)
    assert (body.error_code, close) == (ErrorCode.SASL_AUTHENTICATION_FAILED, True)


@pytest.mark.parametrize("token, user, message", [
    (b"\0alice\0s3cret", "alice", None),
    (b"alice\0alice\0s3cret", "alice", None),
    (b"\0alice\0wrong", None, "Authentication failed: Invalid username or password"),
    (b"\0mallory\0s3cret", None, "Authentication failed: Invalid username or password"),
    (b"bob\0alice\0s3cret", None, "Authentication failed: Client requested an authorization id that is "
                                  "different from username"),
    (b"bob\0alice\0wrong", None, "Authentication failed: Invalid username or password"),
    (b"\0\0s3cret", None, "Authentication failed: username not specified"),
    (b"\0alice\0", None, "Authentication failed: password not specified"),
    (b"alice\0s3cret", None, "Invalid SASL/PLAIN response: expected 3 tokens, got 2"),
    (b"", None, "Invalid SASL/PLAIN response: expected 3 tokens, got 1"),
    (b"a\0b\0c\0d\0e", None, "Invalid SASL/PLAIN response: expected 3 tokens, got 4"),
])
def test_plain(users, token, user, message):
    auth = Authenticator(users)
    handshake(auth, "PLAIN")
    body, close = authenticate(auth, token)
    # Kafka's messages; "" when it succeeds, not null.
    assert (body.error_message, close, auth.user) == (message or "", user is None, user)
    assert body.error_code == (ErrorCode.SASL_AUTHENTICATION_FAILED if user is None else ErrorCode.NONE)


def test_handshake_rules(users):
    body, close = handshake(Authenticator(users), "GSSAPI")
    assert (body.error_code, close) == (ErrorCode.UNSUPPORTED_SASL_MECHANISM, True)
    assert body.mechanisms == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
    body, close = handshake(Authenticator(users), "PLAIN", version=0)
    assert (body.error_code, close) == (ErrorCode.UNSUPPORTED_VERSION, True)
    twice = Authenticator(users)
    handshake(twice, "PLAIN")
    assert handshake(twice, "PLAIN")[0].error_code == ErrorCode.ILLEGAL_SASL_STATE
    body, close = authenticate(Authenticator(users), b"\0alice\0s3cret")
    assert (body.error_code, close) == (ErrorCode.ILLEGAL_SASL_STATE, True)
    with pytest.raises(ProtocolError, match="^Metadata v12 before SASL authentication$"):
        Authenticator(users).answer(request(METADATA, 12, topics=None))


@pytest.mark.parametrize("passwords", [{}, {"": "x"}, {"a\0b": "x"}])
def test_users_that_cannot_be(passwords):
    with pytest.raises(ValueError):
        Users(passwords)


@pytest.mark.trio
async def test_a_server_that_requires_sasl(tmp_path):
    async with running_server(tmp_path, sasl_users={"alice": "s3cret"}) as server:
        client = await Client.connect(server)
        versions = await client.call(API_VERSIONS, 3, API_VERSIONS.Request(
            client_software_name="t", client_software_version="1"))
        advertised = {k.api_key: (k.min_version, k.max_version) for k in versions.api_keys}
        assert advertised[SASL_HANDSHAKE.key] == (0, 1) and advertised[SASL_AUTHENTICATE.key] == (0, 2)
        body = await client.call(SASL_HANDSHAKE, 1, SASL_HANDSHAKE.Request(mechanism="PLAIN"))
        assert body.error_code == 0
        body = await client.call(SASL_AUTHENTICATE, 2, SASL_AUTHENTICATE.Request(auth_bytes=b"\0alice\0s3cret"))
        assert body.error_code == 0
        metadata = await client.call(METADATA, 12, METADATA.Request(topics=None))
        assert [b.node_id for b in metadata.brokers] == [0]
        late = await client.call(SASL_HANDSHAKE, 1, SASL_HANDSHAKE.Request(mechanism="PLAIN"))
        assert (late.error_code, late.mechanisms) == (ErrorCode.ILLEGAL_SASL_STATE,
                                                      ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])

        # Anything but ApiVersions and SASL before authenticating: closed.
        early = await Client.connect(server)
        await early.send(METADATA, 12, METADATA.Request(topics=None))
        assert await early.receive() is CLOSED
        # A failed authentication is answered, then the connection closed.
        wrong = await Client.connect(server)
        await wrong.call(SASL_HANDSHAKE, 1, SASL_HANDSHAKE.Request(mechanism="PLAIN"))
        asked = trio.current_time()
        body = await wrong.call(SASL_AUTHENTICATE, 1, SASL_AUTHENTICATE.Request(auth_bytes=b"\0alice\0nope"))
        assert body.error_code == ErrorCode.SASL_AUTHENTICATION_FAILED
        # Not a time limit: a lower bound that sleeping guarantees (KIP-306).
        assert trio.current_time() - asked >= FAILED_AUTHENTICATION_DELAY_S
        assert await wrong.receive() is CLOSED


@pytest.mark.trio
async def test_a_server_without_sasl_refuses_the_handshake(tmp_path):
    async with running_server(tmp_path) as server:
        client = await Client.connect(server)
        body = await client.call(SASL_HANDSHAKE, 1, SASL_HANDSHAKE.Request(mechanism="PLAIN"))
        assert (body.error_code, body.mechanisms) == (ErrorCode.ILLEGAL_SASL_STATE, [])
        body = await client.call(SASL_AUTHENTICATE, 2, SASL_AUTHENTICATE.Request(auth_bytes=b"\0a\0b"))
        assert (body.error_code, body.error_message) == (ErrorCode.ILLEGAL_SASL_STATE,
                                                         "SASL is not enabled on this listener")
