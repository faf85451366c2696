"""Every Kafka API kgw declares, and their codecs, built once at import.

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

REQUEST_CODECS: dict[tuple[int, int], MessageCodec] = {}
RESPONSE_CODECS: dict[tuple[int, int], MessageCodec] = {}
for _api in APIS.values():
    for _version in range(_api.min_version, _api.max_version + 1):
        _flexible = _api.is_flexible(_version)
        REQUEST_CODECS[_api.key, _version] = build(_api.request, _version, _flexible)
        RESPONSE_CODECS[_api.key, _version] = build(_api.response, _version, _flexible)
del _api, _version, _flexible
