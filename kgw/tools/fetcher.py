"""`kgw consume`'s reading side: Fetch from the partitions' leaders, the
positions, and the commits of what was printed (with --group)."""

import time
from collections import defaultdict

from protocol.error_codes import ErrorCode
from protocol.messages import FETCH
from protocol.primitives import NULL_UUID
from protocol.records import ControlType, Record, iter_batches

from ..cli_errors import ToolError
from .client import Cluster, TopicInfo, check, error_name
from .offsets import commit

FETCH_MAX_BYTES = 50 * 1024 * 1024  # the Java consumer's fetch.max.bytes
PARTITION_MAX_BYTES = 1024 * 1024   # and its max.partition.fetch.bytes
# Fetch v13 names topics by id only.
LAST_FETCH_VERSION_BY_NAME = 12
# Errors after which a fresh look at the metadata finds the new leader.
_STALE_LEADER = {ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE,
                 ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH,
                 ErrorCode.REPLICA_NOT_AVAILABLE, ErrorCode.KAFKA_STORAGE_ERROR}
_MAX_STALE_ROUNDS = 50
_STALE_PAUSE_S = 0.1

# (the data records at or after the position, the offset after the batch,
# the batch's timestamp type)
Batch = tuple[list[Record], int, int]


class Reader:
    """Fetches from the partitions' leaders and keeps the positions.

    `positions` moves only over records printed (or that the isolation
    level hides: control batches, aborted transactions), so `commit`
    commits what was printed and nothing else.
    """

    def __init__(self, cluster: Cluster, info: TopicInfo, positions: dict[int, int],
                 group: str | None, committed: dict[int, int], isolation: int):
        self.cluster = cluster
        self.info = info
        self.positions = positions
        self.group = group
        self.isolation = isolation
        self._started_at = dict(positions)
        self._committed = dict(committed)
        self._stale_rounds = 0

    def commit(self) -> None:
        """Commit, with --group, the positions moved since the start and not
        yet committed.  A partition where nothing was printed keeps what
        the group had (or nothing): a new group that printed nothing has
        nothing committed, wherever it started."""
        if self.group is None:
            return
        moved = {p: pos for p, pos in self.positions.items()
                 if pos != self._started_at[p] and pos != self._committed.get(p)}
        if moved:
            commit(self.cluster.coordinator(self.group), self.group,
                   {(self.info.name, p): pos for p, pos in moved.items()})
            self._committed.update(moved)

    def fetch(self, partitions: list[int], wait_ms: int):
        """(partition, [Batch]) for the partitions that returned data."""
        by_leader = defaultdict(list)
        for p in partitions:
            by_leader[self.cluster.leader(self.info, p)].append(p)
        stale = None
        for leader, parts in by_leader.items():
            for p, error, data, aborted in self._fetch_from(leader, parts, wait_ms):
                if error in _STALE_LEADER:
                    stale = error
                    continue
                if error == ErrorCode.OFFSET_OUT_OF_RANGE:
                    raise ToolError(f"offset {self.positions[p]} of partition {p} of "
                                    f"{self.info.name!r} is out of range (deleted meanwhile?)")
                check(error, f"cannot read partition {p} of {self.info.name!r}")
                if data:
                    yield p, batches_from(data, self.positions[p], aborted)
        if stale is not None:
            self._stale_rounds += 1
            if self._stale_rounds > _MAX_STALE_ROUNDS:
                raise ToolError(f"no leader answers for topic {self.info.name!r} "
                                f"({error_name(stale)})")
            time.sleep(_STALE_PAUSE_S)
            self.info = self.cluster.metadata([self.info.name]).topic(self.info.name)
        else:
            self._stale_rounds = 0

    def _fetch_from(self, leader: int, parts: list[int], wait_ms: int):
        conn = self.cluster.node(leader)
        version = conn.version(FETCH)
        if self.info.topic_id == NULL_UUID:
            version = min(version, LAST_FETCH_VERSION_BY_NAME)
        Topic = FETCH.Request.FetchTopic
        body = conn.call(FETCH, FETCH.Request(
            replica_id=-1, max_wait_ms=wait_ms, min_bytes=1, max_bytes=FETCH_MAX_BYTES,
            isolation_level=self.isolation, session_id=0, session_epoch=-1, rack_id="",
            topics=[Topic(topic=self.info.name, topic_id=self.info.topic_id, partitions=[
                Topic.FetchPartition(partition=p, fetch_offset=self.positions[p],
                                     partition_max_bytes=PARTITION_MAX_BYTES)
                for p in parts])]), version)
        check(body.error_code, f"cannot read topic {self.info.name!r}")
        for t in body.responses:
            for p in t.partitions:
                aborted = [(a.producer_id, a.first_offset) for a in p.aborted_transactions or ()]
                yield p.partition_index, p.error_code, p.records, aborted


def batches_from(data, position: int, aborted: list[tuple[int, int]]) -> list[Batch]:
    """The data records at or after `position`, batch by batch; a Fetch may
    start with the batch holding `position` and end with a partial batch.

    `aborted` (read_committed) lists (producer id, first offset) of the
    aborted transactions in the data. As Kafka's consumer does, a producer's
    transactional batches are dropped from the first offset of its aborted
    transaction up to its ABORT marker.
    """
    starts = sorted(aborted, key=lambda entry: entry[1])
    dropping: set[int] = set()
    result = []
    for batch in iter_batches(data, allow_partial_tail=True):
        while starts and starts[0][1] <= batch.last_offset:
            dropping.add(starts.pop(0)[0])
        if batch.is_control:
            if batch.producer_id in dropping and batch.control_record().type == ControlType.ABORT:
                dropping.discard(batch.producer_id)
            records: list = []
        elif batch.last_offset < position or (batch.is_transactional
                                              and batch.producer_id in dropping):
            records = []
        else:
            records = [r for r in batch.records() if r.offset >= position]
        if batch.last_offset >= position:
            result.append((records, batch.last_offset + 1, batch.timestamp_type))
    return result
