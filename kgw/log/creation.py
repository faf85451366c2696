"""Making new partitions on disk, for new topics and added partitions alike.

This is the part of a creation that touches files, and it is safe on a
worker thread: it only creates the new partition directories and writes
the topics' metadata files.  The LogManager checks a creation beforehand
and registers what was made afterwards, both on the event loop's thread.

Crash safety: every new partition directory is made durable (its own
entries, then the data directory's) before the topic's metadata file
names it.  A crash before that leaves directories that hold no record and
that no topic claims, which the next start removes; after it, the topic
is whole.  The fsyncs are shared: a batch of creations costs one per new directory,
one per metadata file and one each of the data directory and of the
metadata directory, where each topic alone would cost five.
"""

import logging
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .config_layers import ConfigLayers
from .files import fsync_dir
from .partition import LogHooks, PartitionLog
from .segment import LOG_SUFFIX
from .topic import META_DIR, Topic

log = logging.getLogger("kgw.log")

# The fsyncs of a batch of creations run this many at a time.
FSYNC_THREADS = 8


@dataclass
class Creation:
    """Partitions `first` to `total` - 1 of the topic `name`: a new topic's
    (`overrides` are its validated configs, and `build_creations` makes its Topic)
    or partitions added to the existing `topic`."""

    name: str
    first: int
    total: int
    overrides: dict[str, str] | None = None
    topic: Topic | None = None
    partitions: list[PartitionLog] = field(default_factory=list)
    # Why nothing of this creation was made.
    error: OSError | None = None

    @property
    def new_topic(self) -> bool:
        return self.overrides is not None

    @property
    def count(self) -> int:
        return self.total - self.first


def build_creations(creations: list[Creation], data_dir: Path, hooks: LogHooks,
                    layers: ConfigLayers) -> None:
    """Make the partitions and metadata file of each creation, each whole or not at all.

    Fills in `topic` and `partitions`, or `error` for a creation whose
    files could not be written (its directories are removed again).
    """
    for creation in creations:
        if creation.overrides is not None:
            creation.topic = Topic(creation.name, uuid.uuid4(), creation.overrides, layers)
    made = [c for c in creations if _make_partitions(c, data_dir, hooks)]
    if not made:
        return
    # fsyncs run several at once, which lets the file system commit them
    # together: about three times the rate of one at a time.
    with ThreadPoolExecutor(FSYNC_THREADS, thread_name_prefix="kgw creation") as pool:
        try:
            # list(): the first error is raised here; the pool waits for the rest.
            list(pool.map(fsync_dir, [p.directory for c in made for p in c.partitions]))
            fsync_dir(data_dir)
        except OSError as exc:
            for creation in made:
                _undo(creation, exc)
            return
        saved = []
        for creation, error in zip(made, pool.map(lambda c: _save(c, data_dir), made)):
            if error is None:
                saved.append(creation)
            else:
                _undo(creation, error)
    if not saved:
        return
    try:
        fsync_dir(data_dir / META_DIR)
    except OSError as exc:
        # Whether the new metadata files would survive a crash is unknown:
        # the creations fail, and the files go back to what they were.
        for creation in saved:
            _restore_metadata(creation, data_dir)
            _undo(creation, exc)


def _save(creation: Creation, data_dir: Path) -> OSError | None:
    """Write the creation's metadata file, fsynced but not its directory; the error if any."""
    try:
        _topic(creation).save(data_dir, creation.total, sync_directory=False)
    except OSError as exc:
        return exc
    return None


def _topic(creation: Creation) -> Topic:
    assert creation.topic is not None, "build_creations() gives every creation its topic"
    return creation.topic


def _make_partitions(creation: Creation, data_dir: Path, hooks: LogHooks) -> bool:
    topic = _topic(creation)
    for index in range(creation.first, creation.total):
        directory = topic.partition_dir(data_dir, index)
        try:
            _clear_leftover(directory, topic.name, index)
        except OSError as exc:
            _undo(creation, exc)
            return False
        try:
            creation.partitions.append(PartitionLog.create(topic, index, directory, hooks,
                                                           sync=False))
        except OSError as exc:
            shutil.rmtree(directory, ignore_errors=True)
            _undo(creation, exc)
            return False
    return True


def _clear_leftover(directory: Path, topic: str, index: int) -> None:
    """Remove a directory no topic claims (the LogManager checked) where a new
    partition goes: left by an interrupted creation, or by a topic whose
    metadata start-up could not read.  What holds records is never removed."""
    if not directory.exists():
        return
    if any(p.stat().st_size for p in directory.glob("*" + LOG_SUFFIX)):
        raise FileExistsError(f"{directory} exists and holds records that no topic claims")
    log.warning("removing stale %s before creating partition %d of %s", directory, index, topic)
    shutil.rmtree(directory)


def _restore_metadata(creation: Creation, data_dir: Path) -> None:
    try:
        if creation.new_topic:
            _topic(creation).meta_path(data_dir).unlink(missing_ok=True)
        else:
            _topic(creation).save(data_dir, creation.first)
    except OSError as exc:
        log.error("cannot restore the metadata of topic %s after a failed creation: %s",
                  creation.name, exc)


def _undo(creation: Creation, exc: OSError) -> None:
    """Remove what was made of `creation`: its partitions were never
    registered, so their files are all there is of them."""
    creation.error = exc
    for partition in creation.partitions:
        shutil.rmtree(partition.directory, ignore_errors=True)
    creation.partitions = []
