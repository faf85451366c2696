"""Which partition a produced record goes to.

Keyed records follow the Java client's default partitioner, so `kgw
produce` puts a key in the same partition as every Java-based producer
(and librdkafka's `murmur2_random`): the 32-bit MurmurHash2 of the key
bytes with Kafka's seed, made positive by masking the sign bit, modulo
the partition count.  Unkeyed records take the partitions in turn.
"""

_SEED = 0x9747B28C
_M = 0x5BD1E995
_R = 24
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """MurmurHash2 (Austin Appleby's 32-bit hash) as Kafka's Utils.murmur2
    computes it: little-endian 4-byte words, result as a signed int32."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length & ~3
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> _R
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:
        for shift, byte in zip((0, 8, 16), data[whole:]):
            h ^= byte << shift
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for_key(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class Partitioner:
    def __init__(self, partitions: int, fixed: int | None = None):
        self.partitions = partitions
        self.fixed = fixed
        self._next = 0

    def __call__(self, key: bytes | None) -> int:
        if self.fixed is not None:
            return self.fixed
        if key is not None:
            return partition_for_key(key, self.partitions)
        chosen = self._next
        self._next = (chosen + 1) % self.partitions
        return chosen
