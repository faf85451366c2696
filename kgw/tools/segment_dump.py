"""Printing a segment file batch by batch, offline, for `kgw log dump`.

The output follows the spirit of Kafka's DumpLogSegments: one line of
`name: value` pairs per batch, one line starting with `|` per record.
A problem (bad framing, CRC mismatch, an offset out of sequence, records
that a Produce would refuse, as `kgw.log.record_checks.check_batch` finds
them for `kgw log check` too) is printed where it is found as `problem at
position N: ...`; the walk goes on past a batch whose framing holds and
stops at one whose framing does not, as nothing after it can be located.
"""

import json
import os
import struct
from pathlib import Path
from typing import Callable

from kgw.log.errors import LogError
from kgw.log.files import pread_exact
from kgw.log.record_checks import check_batch
from kgw.log.scan import parse_header
from kgw.log.segment import LOG_SUFFIX, parse_stem
from protocol.compression import Codec
from protocol.errors import DecodeError
from protocol.records import (
    CODEC_MASK, LENGTH_OFFSET, LOG_APPEND_TIME, LOG_OVERHEAD, MAGIC_OFFSET, MAGIC_V2,
    MIN_BATCH_LENGTH, ControlType, RecordBatch, end_txn_marker,
)

_I32 = struct.Struct(">i")
_CONTROL_TYPES = {t.value for t in ControlType}


def segment_files(path: Path) -> list[Path]:
    """`path` itself, or the segment files of the partition directory `path`."""
    if path.is_dir():
        return sorted(p for p in path.iterdir()
                      if p.name.endswith(LOG_SUFFIX) and parse_stem(p.name) is not None)
    return [path]


class SegmentDump:
    """Writes the lines for one segment through `emit`; counts problems."""

    def __init__(self, emit: Callable[[str], None], records: bool = True):
        self.emit = emit
        self.records = records
        self.problems = 0

    def dump(self, path: Path) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            self.emit(f"Dumping {path}")
            self._walk(fd, os.fstat(fd).st_size, parse_stem(path.name))
        finally:
            os.close(fd)

    def _problem(self, position: int, what: str) -> None:
        self.problems += 1
        self.emit(f"problem at position {position}: {what}")

    def _walk(self, fd: int, size: int, next_offset: int | None) -> None:
        pos = 0
        while pos < size:
            frame = pread_exact(fd, LOG_OVERHEAD, pos)
            if len(frame) < LOG_OVERHEAD:
                return self._problem(pos, f"{len(frame)} trailing bytes are too few for a batch")
            length = _I32.unpack_from(frame, LENGTH_OFFSET)[0]
            if length < MAGIC_OFFSET + 1 - LOG_OVERHEAD:
                return self._problem(pos, f"batch length {length} is too small for any batch")
            if LOG_OVERHEAD + length > size - pos:
                return self._problem(pos, f"a {LOG_OVERHEAD + length}-byte batch is cut off "
                                          f"after {size - pos} bytes")
            data = pread_exact(fd, LOG_OVERHEAD + length, pos)
            magic = data[MAGIC_OFFSET]
            if magic != MAGIC_V2 or length < MIN_BATCH_LENGTH:
                self._problem(pos, f"a message of format v{magic}, not a RecordBatch v2: skipped")
            else:
                next_offset = self._batch(RecordBatch(data), pos, next_offset)
            pos += LOG_OVERHEAD + length

    def _batch(self, batch: RecordBatch, pos: int, expected: int | None) -> int:
        time_kind = "LogAppendTime" if batch.timestamp_type == LOG_APPEND_TIME else "CreateTime"
        crc_ok = batch.crc_ok()
        self.emit(" ".join([
            f"baseOffset: {batch.base_offset}", f"lastOffset: {batch.last_offset}",
            f"count: {batch.record_count}", f"position: {pos}", f"size: {batch.size}",
            f"{time_kind}: {batch.max_timestamp}", f"codec: {codec_name(batch.attributes)}",
            f"crc: {batch.crc:#010x}", f"valid: {'true' if crc_ok else 'false'}",
            f"producerId: {batch.producer_id}", f"producerEpoch: {batch.producer_epoch}",
            f"baseSequence: {batch.base_sequence}", f"leaderEpoch: {batch.partition_leader_epoch}",
            f"transactional: {_bool(batch.is_transactional)}",
            f"control: {_bool(batch.is_control)}"]))
        if not crc_ok:
            self._problem(pos, f"CRC mismatch: stored {batch.crc:#010x}, "
                               f"computed {batch.compute_crc():#010x}")
        if expected is not None and batch.base_offset != expected:
            self._problem(pos, f"baseOffset {batch.base_offset} where {expected} was due")
        if batch.last_offset_delta != batch.record_count - 1:
            self._problem(pos, f"count {batch.record_count} does not match lastOffsetDelta "
                               f"{batch.last_offset_delta}")
        if crc_ok:
            # Records are checked only inside a sound CRC, as `kgw log check` does.
            try:
                check_batch(batch.memory, parse_header(batch.memory, 0, pos))
            except LogError as exc:
                self._problem(pos, exc.message)
                return batch.last_offset + 1
        if self.records:
            try:
                records = batch.records()
            except DecodeError as exc:
                self._problem(pos, f"records do not decode: {exc}")
            else:
                if batch.is_control:
                    self._markers(batch, records, time_kind, pos)
                    return batch.last_offset + 1
                for r in records:
                    headers = ", ".join(f"{json.dumps(name, ensure_ascii=False)}: {show(value)}"
                                        for name, value in r.headers)
                    self.emit(f"| offset: {r.offset} {time_kind}: {r.timestamp} "
                              f"key: {show(r.key)} value: {show(r.value)} headers: {{{headers}}}")
        return batch.last_offset + 1

    def _markers(self, batch: RecordBatch, records, time_kind: str, pos: int) -> None:
        """A control batch's record as Kafka's DumpLogSegments names it: the
        end-transaction marker's type and coordinator epoch."""
        try:
            kind = batch.control_record().type
            epoch = end_txn_marker(records[0].value).coordinator_epoch
        except DecodeError as exc:
            self._problem(pos, f"control record does not decode: {exc}")
            return
        name = ControlType(kind).name if kind in _CONTROL_TYPES else f"unknown-{kind}"
        self.emit(f"| offset: {records[0].offset} {time_kind}: {records[0].timestamp} "
                  f"endTxnMarker: {name} coordinatorEpoch: {epoch}")


def codec_name(attributes: int) -> str:
    codec_id = attributes & CODEC_MASK
    try:
        return Codec(codec_id).name.lower()
    except ValueError:
        return f"unknown-{codec_id}"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def show(data: bytes | None) -> str:
    """A key or value: text as a JSON string, other bytes as 0x and hex, or null."""
    if data is None:
        return "null"
    try:
        return json.dumps(data.decode("utf-8"), ensure_ascii=False)
    except UnicodeDecodeError:
        return "0x" + data.hex()
