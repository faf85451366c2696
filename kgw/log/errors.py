"""The one exception the log raises for anything a client or the disk can cause."""

from protocol.error_codes import ErrorCode


class LogError(Exception):
    """A failure with the Kafka error code the server answers with.

    The server turns it into a per-partition (Produce, Fetch, ListOffsets,
    DeleteRecords) or per-topic (CreateTopics, DeleteTopics,
    CreatePartitions) error; `message` is safe to send back as the error
    message where the API has one.
    """

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
