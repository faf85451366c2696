"""kgw's storage: topics of partitions of segments of RecordBatches.

The core (everything but `durability` and `retention`, the two background
tasks) is synchronous and free of trio: plain files, pwrite/pread/fsync,
so it is tested without an event loop.  See `manager` for the data
directory's layout, `partition` for appends and reads, `recovery` for
start-up, `durability` for the fsync policy.
"""

from .config import (
    BrokerDefaults, ConfigEntry, ConfigOp, ConfigSource, ConfigSynonym, ConfigType, apply_changes,
)
from .durability import Flusher
from .errors import LogError
from .files import FileRange, FileRecords, OpenFile
from .manager import LogManager
from .partition import AppendResult, LogHooks, PartitionLog, ReadResult
from .producer_state import AppendOrigin
from .retention import run_retention
from .scan import BatchHeader
from .topic import Topic

__all__ = [
    "AppendOrigin", "AppendResult", "BatchHeader", "BrokerDefaults", "ConfigEntry", "ConfigOp", "ConfigSource",
    "ConfigSynonym", "ConfigType", "FileRange", "FileRecords", "Flusher", "LogError", "LogHooks", "LogManager",
    "OpenFile", "PartitionLog", "ReadResult", "Topic", "apply_changes", "run_retention",
]
