"""The exception the log raises for anything a client or the disk can cause."""

from ..errors import KafkaError


class LogError(KafkaError):
    """A KafkaError from the log: a per-partition (Produce, Fetch, ListOffsets,
    DeleteRecords) or per-topic (CreateTopics, DeleteTopics, CreatePartitions)
    error."""
