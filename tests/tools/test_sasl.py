"""The tools against a kgw that requires SASL, and their SCRAM client
against RFC 7677's example."""

import pytest

from kgw.tools.sasl import Credentials, ServerNotTrusted, conversation

from ..test_sasl import (
    RFC_CLIENT_FIRST_BARE, RFC_FINAL_WITHOUT_PROOF, RFC_PROOF, RFC_SERVER_FIRST, RFC_SERVER_SIGNATURE,
)
from .conftest import ThreadedBroker, tool_runner

USERS = {"alice": "s3cret"}


def test_scram_client_follows_rfc_7677():
    steps = conversation(Credentials("SCRAM-SHA-256", "user", "pencil"), nonce="rOprNGfwEbeRWgbNEkqO")
    assert next(steps) == f"n,,{RFC_CLIENT_FIRST_BARE}".encode()
    assert steps.send(RFC_SERVER_FIRST.encode()) == f"{RFC_FINAL_WITHOUT_PROOF},p={RFC_PROOF}".encode()
    with pytest.raises(StopIteration):
        steps.send(f"v={RFC_SERVER_SIGNATURE}".encode())


@pytest.mark.parametrize("server_final", [b"v=" + b"A" * 44, b"e=other-error"])
def test_scram_client_distrusts_a_server_that_does_not_know_the_password(server_final):
    steps = conversation(Credentials("SCRAM-SHA-256", "user", "pencil"), nonce="rOprNGfwEbeRWgbNEkqO")
    next(steps)
    steps.send(RFC_SERVER_FIRST.encode())
    with pytest.raises(ServerNotTrusted):
        steps.send(server_final)


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory):
    with ThreadedBroker(tmp_path_factory.mktemp("kgw-sasl"), flush="never", sasl_users=USERS) as running:
        yield running


def credentials(mechanism, password="s3cret"):
    return {"KGW_SASL_MECHANISM": mechanism, "KGW_SASL_USERNAME": "alice", "KGW_SASL_PASSWORD": password}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_tools_authenticate(sasl_broker, topic, mechanism):
    kgw = tool_runner(sasl_broker.bootstrap, **credentials(mechanism))
    assert kgw("topics", "create", topic).stdout == f"Created topic {topic}.\n"
    assert kgw("produce", topic, input="one\ntwo\n").exit_code == 0
    consumed = kgw("consume", topic, "--from-beginning", "-n", 2)
    assert (consumed.exit_code, consumed.stdout, consumed.stderr) == (0, "one\ntwo\n", "")


def test_a_wrong_password_is_one_line(sasl_broker):
    result = tool_runner(sasl_broker.bootstrap, **credentials("SCRAM-SHA-512", "nope"))("topics", "list")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"Error: SASL authentication with {sasl_broker.bootstrap}: "
                             "SASL_AUTHENTICATION_FAILED (Authentication failed during authentication due "
                             "to invalid credentials with SASL mechanism SCRAM-SHA-512)\n")


def test_without_credentials_the_broker_closes_the_connection(sasl_broker):
    result = tool_runner(sasl_broker.bootstrap)("topics", "list")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the broker at {sasl_broker.bootstrap} closed the connection instead of answering "
        "Metadata v12; it probably requires SASL authentication: give --sasl-mechanism, "
        "--sasl-username and --sasl-password (or KGW_SASL_MECHANISM, KGW_SASL_USERNAME and "
        "KGW_SASL_PASSWORD)\n")


def test_credentials_against_a_broker_without_sasl(broker):
    result = tool_runner(broker.bootstrap, **credentials("PLAIN"))("topics", "list")
    assert (result.exit_code, result.stderr) == (
        1, f"Error: SASL PLAIN with {broker.bootstrap} (it offers none): ILLEGAL_SASL_STATE\n")


def test_a_mechanism_needs_a_user_and_a_password(sasl_broker):
    result = tool_runner(sasl_broker.bootstrap, KGW_SASL_MECHANISM="PLAIN")("topics", "list")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --sasl-mechanism needs --sasl-username and --sasl-password")
