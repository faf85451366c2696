"""The exception the log raises for anything a client or the disk can cause."""

from ..errors import KafkaError


class LogError(KafkaError):
    """A KafkaError from the log: a per-partition (Produce, Fetch, ListOffsets,
    DeleteRecords) or per-topic (CreateTopics, DeleteTopics, CreatePartitions)
    error."""


class RecordValidationError(LogError):
    """Records refused one by one, as Kafka's LogValidator refuses them
    (RecordValidationException): `record_errors` holds (index of the record
    in its batch, why) for each, which Produce reports with the message."""

    def __init__(self, code, message: str, record_errors: list[tuple[int, str]]):
        super().__init__(code, message)
        self.record_errors = record_errors
