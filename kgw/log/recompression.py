"""Broker-side recompression: a topic whose compression.type names a codec
(gzip, snappy, lz4, zstd, or uncompressed) stores a batch that arrives in
another codec rebuilt in its own, as Kafka's LogValidator does
(buildRecordsAndAssignOffsets).

What Apache Kafka 4.4 stores then, and kgw with it: the same records
(keys, values, headers, timestamps) with offset deltas counting from 0;
the producer id, epoch and base sequence; the transactional flag; the
first record's timestamp as the base timestamp and the largest as the
maximum (a LogAppendTime topic then stamps the batch as any other).  The
topic's compression.<codec>.level applies.  A batch already in the
topic's codec is stored as it came, and so is a control batch (Kafka does
not compress transaction markers written uncompressed).

With compression.type=producer, the default, none of this runs: the
partition stores every batch as the producer compressed it.
"""

from protocol.compression import Codec
from protocol.errors import DecodeError
from protocol.error_codes import ErrorCode
from protocol.records import Record, RecordBatch, build_batch

from .config import LogConfig
from .errors import LogError
from .record_checks import INFLATE_LIMIT
from .scan import BatchHeader, parse_header


def needs_recompression(headers: list[BatchHeader], config: LogConfig) -> bool:
    codec = config.codec
    return codec is not None and any(h.codec != codec and not h.is_control for h in headers)


def recompress(view: memoryview, headers: list[BatchHeader],
               config: LogConfig) -> tuple[memoryview, list[BatchHeader]]:
    """The records of `view` with every batch in the topic's codec, and
    their headers (positions within the new buffer); LogError for a batch
    that cannot be decoded or has grown past max.message.bytes."""
    codec = config.codec
    if codec is None:
        return view, headers
    out = bytearray()
    for header in headers:
        if header.codec == codec or header.is_control:
            out += view[header.position:header.end]
        else:
            out += _rebuilt(view, header, codec, config)
    rebuilt = memoryview(out)
    new_headers = []
    position = 0
    while position < len(rebuilt):
        header = parse_header(rebuilt, position, position)
        if header.size > config.max_message_bytes:
            # Kafka checks the size again after recompressing.
            raise LogError(ErrorCode.MESSAGE_TOO_LARGE,
                           f"the {header.size}-byte batch, recompressed, is larger than "
                           f"max.message.bytes {config.max_message_bytes}")
        new_headers.append(header)
        position = header.end
    return rebuilt, new_headers


def _rebuilt(view: memoryview, header: BatchHeader, codec: Codec, config: LogConfig) -> bytes:
    try:
        records = RecordBatch(view, header.position).records(INFLATE_LIMIT)
    except DecodeError as exc:
        raise LogError(ErrorCode.CORRUPT_MESSAGE, f"records cannot be decoded: {exc}") from None
    base = header.base_offset
    return build_batch(
        [Record(base + i, r.timestamp, r.key, r.value, r.headers) for i, r in enumerate(records)],
        base_offset=base, codec=codec, producer_id=header.producer_id,
        producer_epoch=header.producer_epoch, base_sequence=header.base_sequence,
        is_transactional=header.is_transactional, level=config.compression_level)
