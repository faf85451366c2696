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
