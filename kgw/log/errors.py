"""The exception the log raises for anything a client or the disk can cause."""

from ..errors import KafkaError


class LogError(KafkaError):
    """A KafkaError from the log: a per-partition (Produce, Fetch, ListOffsets,
    DeleteRecords) or per-topic (CreateTopics, DeleteTopics, CreatePartitions)
    error."""


class RecordErrors(LogError):
    """Records of a batch that Kafka's LogValidator refuses one by one
    (its RecordValidationException): the batch is not written, and Produce
    names each refused record by its index in the batch."""

    # Kafka spells out only the first few in the partition's error message.
    SHOWN = 3

    def __init__(self, code, errors: list[tuple[int, str]], log_start_offset: int):
        shown = ", ".join(f"RecordError(batchIndex={index}, message='{message}')"
                          for index, message in errors[:self.SHOWN])
        super().__init__(code, f"One or more records have been rejected due to {len(errors)} record "
                               f"errors in total, and only showing the first three errors at most: "
                               f"[{shown}]")
        self.errors = errors
        # Kafka answers these with the partition's log start offset.
        self.log_start_offset = log_start_offset
