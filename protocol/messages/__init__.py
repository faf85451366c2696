"""Every Kafka API kgw declares, and their codecs, each built once, on first use.

`APIS` maps an API key to its declaration; `REQUEST_CODECS` and
`RESPONSE_CODECS` map (api key, version) to a `MessageCodec`.  Adding a
version is editing a declaration: the codecs follow.
"""

from ..codec import MessageCodec, build
from ..schema import Api
from .admin import (
    ALTER_CONFIGS, CREATE_PARTITIONS, CREATE_TOPICS, DELETE_RECORDS, DELETE_TOPICS, DESCRIBE_CONFIGS,
    INCREMENTAL_ALTER_CONFIGS,
)
from .fetch import FETCH, LIST_OFFSETS
from .groups import (
    DELETE_GROUPS, DESCRIBE_GROUPS, FIND_COORDINATOR, HEARTBEAT, JOIN_GROUP, LEAVE_GROUP,
    LIST_GROUPS, SYNC_GROUP,
)
from .metadata import API_VERSIONS, DESCRIBE_CLUSTER, METADATA
from .offsets import OFFSET_COMMIT, OFFSET_DELETE, OFFSET_FETCH
from .produce import INIT_PRODUCER_ID, PRODUCE
from .sasl import SASL_AUTHENTICATE, SASL_HANDSHAKE
from .transactions import (
    ADD_OFFSETS_TO_TXN, ADD_PARTITIONS_TO_TXN, DESCRIBE_PRODUCERS, DESCRIBE_TRANSACTIONS, END_TXN,
    LIST_TRANSACTIONS, TXN_OFFSET_COMMIT, WRITE_TXN_MARKERS,
)

APIS: dict[int, Api] = {api.key: api for api in (
    PRODUCE, FETCH, LIST_OFFSETS, METADATA, OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR,
    JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP, DESCRIBE_GROUPS, LIST_GROUPS,
    SASL_HANDSHAKE, API_VERSIONS, CREATE_TOPICS, DELETE_TOPICS, DELETE_RECORDS,
    INIT_PRODUCER_ID, ADD_PARTITIONS_TO_TXN, ADD_OFFSETS_TO_TXN, END_TXN, TXN_OFFSET_COMMIT,
    DESCRIBE_CONFIGS, SASL_AUTHENTICATE, CREATE_PARTITIONS, DELETE_GROUPS, DESCRIBE_CLUSTER,
    ALTER_CONFIGS, INCREMENTAL_ALTER_CONFIGS, OFFSET_DELETE, DESCRIBE_PRODUCERS,
    DESCRIBE_TRANSACTIONS, LIST_TRANSACTIONS, WRITE_TXN_MARKERS,
)}


class _Codecs(dict):
    """(api key, version) -> MessageCodec, each built when first looked up.

    A process uses a handful of the ~560 codecs, and building them all took
    a third of `kgw serve`'s start-up; looking up a built one is a plain dict
    lookup.  Two threads building the same codec at once build equal ones.
    """

    def __init__(self, side: str):
        super().__init__()
        self._side = side

    def __missing__(self, key: tuple[int, int]) -> MessageCodec:
        api_key, version = key
        api = APIS.get(api_key)
        if api is None or version not in api.versions:
            raise KeyError(key)
        codec = self[key] = build(getattr(api, self._side), version, api.is_flexible(version))
        return codec


REQUEST_CODECS: dict[tuple[int, int], MessageCodec] = _Codecs("request")
RESPONSE_CODECS: dict[tuple[int, int], MessageCodec] = _Codecs("response")
