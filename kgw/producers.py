"""Producer ids (KIP-98), handed out to idempotent and transactional producers.

Ids come in blocks whose high-water mark is persisted before the block is
used, as Kafka's ProducerIdManager reserves blocks, so an id is never
handed out twice, even across a crash.  What the partitions know of each
producer is their own (`kgw.log.producer_state`).
"""

from pathlib import Path

from .log.files import read_metadata, write_metadata

IDS_FILE = "producer-ids.json"
IDS_FILE_FORMAT = 1
ID_BLOCK = 1000
# Epochs are int16; Kafka bumps no further than this before a new id.
MAX_EPOCH = 0x7FFF - 1


class ProducerIds:
    def __init__(self, data_dir: Path):
        self._path = Path(data_dir) / IDS_FILE
        meta = read_metadata(self._path, IDS_FILE_FORMAT)
        self._next_id = 0 if meta is None else meta["next_block"]
        self._block_end = self._next_id

    def new_producer_id(self) -> int:
        if self._next_id >= self._block_end:
            self._block_end = self._next_id + ID_BLOCK
            write_metadata(self._path, IDS_FILE_FORMAT, {"next_block": self._block_end})
        pid = self._next_id
        self._next_id += 1
        return pid

    def init_producer(self, producer_id: int = -1, producer_epoch: int = -1) -> tuple[int, int]:
        """InitProducerId for an idempotent producer: a fresh (id, epoch 0),
        or, for a producer recovering from an error (KIP-360), its own id
        with the epoch bumped."""
        if 0 <= producer_id < self._next_id and 0 <= producer_epoch < MAX_EPOCH:
            return producer_id, producer_epoch + 1
        return self.new_producer_id(), 0
