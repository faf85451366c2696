"""The one exception for anything kgw answers with a Kafka error code.

Whatever a client can cause (an unknown partition, a fenced producer, a
record too large) or the disk can (a failed fsync) is raised as a
`KafkaError` or a subclass naming where it came from.  Handlers never
have to remember to catch it: the result builders of
`kgw.handlers.results` turn it into the error of the one partition, group
or topic it concerns, and the server answers every other partition as
usual.  Any other exception is a bug, and costs the connection.
"""

from protocol.error_codes import ErrorCode
from protocol.errors import ProtocolError

# Kafka's message for an error it reports with nothing more to say
# (Errors.message()), where its answer carries one.
DEFAULT_MESSAGES = {
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: "This server does not host this topic-partition.",
    ErrorCode.UNKNOWN_TOPIC_ID: "This server does not host this topic ID.",
}


class KafkaError(Exception):
    """A failure with the error code the client is answered with.

    `message` is safe to send back where the API has an error message.
    """

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


class CloseConnection(ProtocolError):
    """A request answered by closing its connection, as Kafka answers a
    Produce with acks=0 that failed: the client has no other way to learn
    of it, and refreshes its metadata when it reconnects."""
