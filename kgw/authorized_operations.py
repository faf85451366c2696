"""The authorized-operations bitfields kgw reports (KIP-430).

kgw has no authorization: every client may do everything a resource type
supports, so the bitfield is the resource's full set of operations, as
Kafka reports to a superuser. INT32_MIN means "not requested" and must be
sent when the client did not ask: kafka-python raises on bits it does not
know, such as those of -1 (census S6).
"""

import enum


class AclOperation(enum.IntEnum):
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12


NOT_REQUESTED = -(1 << 31)


def _bits(*ops: AclOperation) -> int:
    return sum(1 << op for op in ops)


TOPIC = _bits(AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE,
              AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS,
              AclOperation.ALTER_CONFIGS)
CLUSTER = _bits(AclOperation.CREATE, AclOperation.ALTER, AclOperation.DESCRIBE,
                AclOperation.CLUSTER_ACTION, AclOperation.DESCRIBE_CONFIGS,
                AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE)
# Kafka 4 adds the config operations: groups have configs since KIP-848.
GROUP = _bits(AclOperation.READ, AclOperation.DELETE, AclOperation.DESCRIBE,
              AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS)


def reported(bitfield: int, requested: bool) -> int:
    return bitfield if requested else NOT_REQUESTED
