"""ErrorCode against Apache Kafka's Errors table, with kafka-python as an oracle."""

import inspect
import re

import kafka.errors as kafka_python_errors
import pytest

from protocol.error_codes import RETRIABLE, ErrorCode

HIGHEST_KAFKA_4_CODE = 136


def _kafka_python_error_classes():
    return [
        cls
        for _, cls in inspect.getmembers(kafka_python_errors, inspect.isclass)
        if isinstance(getattr(cls, "errno", None), int)
    ]


def test_codes_are_contiguous_from_unknown_server_error_to_the_newest():
    # Kafka never skips a number, so a gap here means a missed entry.
    assert [int(c) for c in ErrorCode] == list(range(-1, HIGHEST_KAFKA_4_CODE + 1))


def test_names_are_upper_snake_case_and_values_fit_int16():
    for code in ErrorCode:
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", code.name), code.name
        assert -(2**15) <= code < 2**15


@pytest.mark.parametrize(
    "name, value",
    [
        ("UNKNOWN_SERVER_ERROR", -1),
        ("NONE", 0),
        ("OFFSET_OUT_OF_RANGE", 1),
        ("CORRUPT_MESSAGE", 2),
        ("UNKNOWN_TOPIC_OR_PARTITION", 3),
        ("NOT_LEADER_OR_FOLLOWER", 6),
        ("MESSAGE_TOO_LARGE", 10),
        ("NOT_COORDINATOR", 16),
        ("ILLEGAL_GENERATION", 22),
        ("UNKNOWN_MEMBER_ID", 25),
        ("REBALANCE_IN_PROGRESS", 27),
        ("UNSUPPORTED_VERSION", 35),
        ("INVALID_REQUEST", 42),
        ("MEMBER_ID_REQUIRED", 79),
        ("INVALID_RECORD", 87),
        ("UNKNOWN_TOPIC_ID", 100),
        ("SHARE_SESSION_LIMIT_REACHED", 133),
        ("CONTROLLER_ID_NOT_REGISTERED", 136),
    ],
)
def test_well_known_codes(name, value):
    assert ErrorCode[name] == value
    assert ErrorCode(value).name == name


def test_is_an_int_on_the_wire():
    assert isinstance(ErrorCode.NONE, int)
    assert ErrorCode.UNKNOWN_MEMBER_ID + 0 == 25


def test_every_kafka_python_errno_exists_with_the_same_number():
    classes = _kafka_python_error_classes()
    assert len(classes) > 100  # guards against the oracle silently finding nothing
    missing = sorted({cls.errno for cls in classes} - {int(c) for c in ErrorCode})
    assert missing == []


def test_names_differ_from_kafka_python_only_where_kafka_python_kept_old_names():
    # kafka-python's `message` is its spelling of the Kafka name.  These six
    # are names Kafka has since changed (or kafka-python abbreviated); ours
    # follow Errors.java.  Pinned so that a new divergence is looked at.
    differing = {
        cls.errno: cls.message
        for cls in _kafka_python_error_classes()
        if getattr(cls, "message", None) != ErrorCode(cls.errno).name
    }
    assert differing == {
        -1: "UNKNOWN",
        0: "NO_ERROR",
        6: "NOT_LEADER_FOR_PARTITION",
        10: "MESSAGE_SIZE_TOO_LARGE",
        17: "INVALID_TOPIC",
        39: "INVALID_REPLICATION_ASSIGNMENT",
    }


EXPECTED_RETRIABLE = {
    2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75,
    78, 80, 83, 84, 88, 89, 100, 103, 106, 122, 123, 133,
}


def test_retriable_set_matches_kafka_exception_hierarchy():
    assert {int(c) for c in RETRIABLE} == EXPECTED_RETRIABLE
    for code in ErrorCode:
        assert code.retriable is (int(code) in EXPECTED_RETRIABLE), code.name


def test_success_and_unknown_error_are_not_retriable():
    assert not ErrorCode.NONE.retriable
    assert not ErrorCode.UNKNOWN_SERVER_ERROR.retriable
    # Group-membership errors make the client rejoin rather than retry.
    assert not ErrorCode.UNKNOWN_MEMBER_ID.retriable
    assert not ErrorCode.ILLEGAL_GENERATION.retriable
    assert not ErrorCode.REBALANCE_IN_PROGRESS.retriable


def test_retriable_agrees_with_kafka_python_except_corrupt_message():
    # kafka-python marks CORRUPT_MESSAGE fatal; Kafka's CorruptRecordException
    # extends RetriableException, and we follow Kafka.
    disagreements = {
        cls.errno
        for cls in _kafka_python_error_classes()
        if hasattr(cls, "retriable") and cls.retriable != ErrorCode(cls.errno).retriable
    }
    assert disagreements == {ErrorCode.CORRUPT_MESSAGE}


def test_retriable_is_not_an_enum_member():
    assert "RETRIABLE" not in ErrorCode.__members__
    assert all(isinstance(c, ErrorCode) for c in RETRIABLE)
