"""Walking the batches of a segment file by their headers.

Reads go through one reusable window buffer, so a walk costs a pread per
window rather than per batch, and memory stays bounded by the window even
for a corrupt length field or a batch far larger than the window (its CRC
is then computed incrementally, chunk by chunk).
"""

import os
import struct
from typing import Iterator, NamedTuple


from protocol import checksum
from protocol.records import (
    ATTRIBUTES_OFFSET, BATCH_HEADER_SIZE, CODEC_MASK, CONTROL_MASK, LOG_OVERHEAD, MAGIC_V2, MIN_BATCH_LENGTH,
    TRANSACTIONAL_MASK,
)

# The whole v2 header in one unpack: baseOffset, batchLength,
# partitionLeaderEpoch, magic, crc, attributes, lastOffsetDelta,
# baseTimestamp, maxTimestamp, producerId, producerEpoch, baseSequence,
# recordCount.
_HEADER = struct.Struct(">qiibIhiqqqhii")
assert _HEADER.size == BATCH_HEADER_SIZE

READ_WINDOW = 16 * 1024
RECOVERY_WINDOW = 4 * 1024 * 1024


class BatchHeader(NamedTuple):
    """A stored batch's header fields and where it sits in its segment."""

    position: int
    base_offset: int
    size: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    record_count: int

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.base_offset + self.last_offset_delta + 1

    @property
    def end(self) -> int:
        return self.position + self.size

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_MASK)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_MASK)

    @property
    def codec(self) -> int:
        """The compression codec id (protocol.compression.Codec's values)."""
        return self.attributes & CODEC_MASK


def parse_header(buf, offset: int, position: int) -> BatchHeader:
    """The header at `buf[offset:]`, which holds the batch stored at `position`."""
    (base, length, _epoch, magic, crc, attrs, lod, base_ts, max_ts, pid, pepoch, seq,
     count) = _HEADER.unpack_from(buf, offset)
    return BatchHeader(position, base, LOG_OVERHEAD + length, magic, crc, attrs, lod, base_ts,
                       max_ts, pid, pepoch, seq, count)


class SegmentScan:
    """Iterate the batches of `fd` between `start` and `end`, stopping at the first bad one.

    Every batch must have sane framing (a v2 header, a length that fits
    before `end`, a record count that matches its offset delta) and follow
    the previous one densely in offsets; the first must start at
    `first_offset` when that is given.  With `verify_crc`, each batch's
    CRC-32C is checked too.  After iteration,
    `position` is the end of the last good batch and `problem` says why the
    walk stopped before `end` (None if it reached it).
    """

    def __init__(self, fd: int, start: int, end: int, *, first_offset: int | None = None,
                 verify_crc: bool = False, window: int = READ_WINDOW, owner: object = None):
        self.fd = fd
        # What keeps `fd` open (its OpenFile) for as long as the scan may read it.
        self._owner = owner
        self.position = start
        self.end = end
        self.next_offset = first_offset
        self.verify_crc = verify_crc
        self.problem: str | None = None
        self._buf = bytearray(max(window, BATCH_HEADER_SIZE))
        self._view = memoryview(self._buf)
        self._buf_pos = start
        self._buf_len = 0

    def __iter__(self) -> Iterator[BatchHeader]:
        while self.position < self.end:
            header = self._next()
            if header is None:
                return
            self.position = header.end
            yield header

    def _next(self) -> BatchHeader | None:
        found = self._header_or_problem()
        if isinstance(found, str):
            self.problem = f"{found} (position {self.position})"
            return None
        self.next_offset = found.next_offset
        return found

    def _header_or_problem(self) -> BatchHeader | str:
        """The next batch's header, or why it is not a good batch."""
        pos = self.position
        left = self.end - pos
        if left < BATCH_HEADER_SIZE:
            return f"{left} trailing bytes are too few for a batch header"
        if not self._fill(pos, BATCH_HEADER_SIZE):
            return "the file ends inside a batch header"
        header = parse_header(self._buf, pos - self._buf_pos, pos)
        if header.size - LOG_OVERHEAD < MIN_BATCH_LENGTH:
            return f"batch length {header.size - LOG_OVERHEAD} is below the minimum"
        if header.size > left:
            return f"a {header.size}-byte batch is cut off after {left} bytes"
        if header.magic != MAGIC_V2:
            return f"magic {header.magic} is not 2"
        if header.record_count <= 0 or header.last_offset_delta != header.record_count - 1:
            return (f"record count {header.record_count} does not match last offset "
                    f"delta {header.last_offset_delta}")
        if self.next_offset is not None and header.base_offset != self.next_offset:
            return f"base offset {header.base_offset} where {self.next_offset} was due"
        if self.verify_crc and self._crc(header) != header.crc:
            return f"CRC mismatch in the batch at offset {header.base_offset}"
        return header

    def _fill(self, pos: int, need: int) -> bool:
        """Make `need` bytes from `pos` available in the window; False at end of file."""
        if pos >= self._buf_pos and pos + need <= self._buf_pos + self._buf_len:
            return True
        want = min(len(self._buf), self.end - pos)
        got = 0
        while got < want:
            n = os.preadv(self.fd, [self._view[got:want]], pos + got)
            if n == 0:
                break
            got += n
        self._buf_pos, self._buf_len = pos, got
        return got >= need

    def _crc(self, header: BatchHeader) -> int:
        start = header.position + ATTRIBUTES_OFFSET
        end = header.end
        if start >= self._buf_pos and end <= self._buf_pos + self._buf_len:
            return checksum.crc32c(self._view[start - self._buf_pos:end - self._buf_pos])
        crc = 0
        pos = start
        while pos < end:
            if not self._fill(pos, min(len(self._buf), end - pos)):
                return -1
            chunk_end = min(end, self._buf_pos + self._buf_len)
            crc = checksum.crc32c(self._view[pos - self._buf_pos:chunk_end - self._buf_pos], crc)
            pos = chunk_end
        return crc
