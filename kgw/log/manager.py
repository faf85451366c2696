"""All topics of one data directory: creation, deletion, start-up and shutdown.

The data directory holds, besides `topics/` with the topics' metadata files
and the partition directories (see kgw.log.topic):

- `.lock`, flock()ed while a LogManager has the directory open, so two
  brokers never write the same files, and holding the PID of the process
  that has it open, for the error a second broker gets;
- `.kgw-clean-shutdown`, written by `close()` after everything was flushed
  and removed by `open()`: its absence at start-up means the previous run
  did not stop cleanly, and the partitions are recovered;
- `broker-configs.json`: the dynamic broker configs (see config_layers);
- `recovery-point-offset-checkpoint`: per partition, the offset below which
  everything was fsynced, written at shutdown and periodically by the
  Flusher.  Recovery re-validates only what lies past it, as Kafka's
  recovery point does.  A stale checkpoint only means more re-validation;
- `lost-and-found/`: partition directories holding records that no topic
  claims, moved there at start-up rather than deleted.
"""

import fcntl
import logging
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

from protocol.error_codes import ErrorCode

from ..startup_errors import data_dir_locked
from .config import BrokerDefaults, parse_flush_mode, validate
from .config_layers import ConfigLayers
from .creation import Creation, build_creations
from .descriptors import DescriptorCache, default_max_open_files
from .errors import LogError
from .files import OpenFile, fsync_dir, read_metadata, write_metadata
from .partition import LogHooks, PartitionLog
from .producer_state import PENDING_FILE, SUPERSEDED_FILE
from .recovery import LOG_START_OFFSET_FILE
from .retention import enforce_retention
from .segment import LOG_SUFFIX, parse_stem
from .topic import (
    KAFKA_INTERNAL_TOPICS, META_DIR, Topic, check_partition_count, check_topic_name, collision_key, read_meta,
)

log = logging.getLogger("kgw.log")

LOCK_FILE = ".lock"
# Where partition directories no topic claims are moved, never deleted.
LOST_AND_FOUND = "lost-and-found"
DELETED_SUFFIX = "-delete"
CLEAN_SHUTDOWN_MARKER = ".kgw-clean-shutdown"
RECOVERY_CHECKPOINT = "recovery-point-offset-checkpoint"
CHECKPOINT_FORMAT = 1
_PARTITION_DIR = re.compile(r"(.+)-(\d+)")
# atomic_write's temporary files: "<target>.<pid>.<n>.tmp".
_OWN_TMP = re.compile(r".+\.\d+\.\d+\.tmp")


class LogManager:
    def __init__(self, data_dir: str | Path, defaults: BrokerDefaults | None = None,
                 clock: Callable[[], float] = time.time):
        self.data_dir = Path(data_dir)
        self.defaults = defaults or BrokerDefaults()
        self.layers = ConfigLayers(self.defaults)
        self._clock = clock
        max_open = self.defaults.max_open_files
        self.files = DescriptorCache(default_max_open_files() if max_open is None else max_open)
        # Shared by every partition; the broker sets what it listens for.
        self.hooks = LogHooks(self.now_ms, self.files)
        self.hooks.fsync_metadata = parse_flush_mode(self.defaults.flush).kind != "never"
        self._topics: dict[str, Topic] = {}
        self._by_id: dict[uuid.UUID, Topic] = {}
        # Topic names by collision_key, so a new name is checked in O(1).
        self._collisions: dict[str, str] = {}
        self._partition_count = 0
        self._lock: OpenFile | None = None

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    # --- start-up and shutdown -----------------------------------------------

    def open(self) -> None:
        """Lock the directory, load every topic, recover after an unclean stop."""
        started = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_directory()
        self.layers.load(self.data_dir)
        meta_dir = self.data_dir / META_DIR
        if not meta_dir.is_dir():
            meta_dir.mkdir()
            if self.hooks.fsync_metadata:
                fsync_dir(self.data_dir)
        marker = self.data_dir / CLEAN_SHUTDOWN_MARKER
        clean = marker.exists()
        recovery_points = {} if clean else self._read_recovery_points()
        for directory in (self.data_dir, meta_dir):
            for entry in os.scandir(directory):
                if _OWN_TMP.fullmatch(entry.name) and entry.is_file():
                    os.unlink(entry.path)
        metas = sorted(p for p in meta_dir.iterdir() if p.suffix == ".json")
        if not clean and metas:
            log.warning("%s was not shut down cleanly: re-validating every partition past its "
                        "last checkpointed flush", self.data_dir)
        all_readable = True
        for path in metas:
            all_readable &= self._load_topic(path, clean, recovery_points)
        if all_readable:
            self._remove_orphans()
        else:
            log.error("not removing orphaned partition directories: a topic's metadata is "
                      "unreadable and they may be its")
        if clean:
            marker.unlink()
            fsync_dir(self.data_dir)
        log.info("opened %s (%s): %d topic(s), %d partition(s) in %.3f s", self.data_dir,
                 "clean shutdown" if clean else "recovered" if self._topics else "no topics",
                 len(self._topics), sum(len(t.partitions) for t in self._topics.values()),
                 time.monotonic() - started)

    def _lock_directory(self) -> None:
        lock = OpenFile(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(lock.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(lock.fd, 32, 0).decode("ascii", "replace")
            raise data_dir_locked(self.data_dir, holder) from None
        os.ftruncate(lock.fd, 0)
        os.pwrite(lock.fd, f"{os.getpid()}\n".encode(), 0)
        self._lock = lock

    def _load_topic(self, path: Path, clean: bool, recovery_points: dict) -> bool:
        try:
            name, topic_id, count, overrides = read_meta(path)
        except ValueError as exc:
            log.error("%s: %s; the topic is not loaded and its partitions are left alone", path, exc)
            return False
        usable = {}
        for key, value in overrides.items():
            try:
                usable.update(validate({key: value}))
            except LogError as exc:
                log.error("topic %s: ignoring stored config %s=%r: %s", name, key, value, exc.message)
        topic = Topic(name, topic_id, usable, self.layers)
        for index in range(count):
            directory = topic.partition_dir(self.data_dir, index)
            if directory.is_dir():
                checkpoint = recovery_points.get(directory.name)
                point = checkpoint[1] if checkpoint and checkpoint[0] == topic_id else 0
                partition = PartitionLog.load(topic, index, directory, self.hooks,
                                              clean=clean, recovery_point=point)
            else:
                log.error("topic %s: partition directory %s is missing; partition %d starts "
                          "empty at offset 0", name, directory, index)
                partition = PartitionLog.create(topic, index, directory, self.hooks)
            topic.partitions.append(partition)
        self._register(topic)
        return True

    def _remove_orphans(self) -> None:
        """Partition directories no topic owns.

        Those a deletion renamed (Kafka's "-delete" suffix) and those that
        hold no record (an interrupted creation) are removed.  Any other
        holds data that nothing claims, say after its topic's metadata file
        was lost: it is moved into `lost-and-found/`, never deleted.
        """
        for entry in os.scandir(self.data_dir):
            if not entry.is_dir():
                continue
            if entry.name.endswith(DELETED_SUFFIX):
                shutil.rmtree(entry.path)
                continue
            match = _PARTITION_DIR.fullmatch(entry.name)
            if not match:
                continue
            topic = self._topics.get(match.group(1))
            if topic is not None and int(match.group(2)) < len(topic.partitions):
                continue
            directory = Path(entry.path)
            if not _holds_only_log_files(directory):
                log.warning("%s looks like a partition directory of no topic but holds other "
                            "files; leaving it alone", directory)
            elif not any(p.stat().st_size for p in directory.glob("*" + LOG_SUFFIX)):
                log.info("removing %s: no topic owns it and it holds no record (an interrupted "
                         "create)", directory)
                shutil.rmtree(directory)
            else:
                aside = self._lost_and_found(directory)
                log.error("%s holds records but no topic owns it (was its metadata file in %s "
                          "lost?): moved to %s", directory, self.data_dir / META_DIR, aside)

    def _lost_and_found(self, directory: Path) -> Path:
        found = self.data_dir / LOST_AND_FOUND
        found.mkdir(exist_ok=True)
        aside = found / directory.name
        suffix = 1
        while aside.exists():
            suffix += 1
            aside = found / f"{directory.name}.{suffix}"
        os.rename(directory, aside)
        fsync_dir(found)
        fsync_dir(self.data_dir)
        return aside

    def close(self) -> bool:
        """Flush and fsync everything, checkpoint, and mark the shutdown clean;
        whether all of it could be done (a full or read-only disk may refuse
        some: what could not is logged, and recovered at the next start)."""
        if self._lock is None:
            return True
        all_flushed = True
        for partition in self.partitions():
            try:
                partition.close()
            except LogError as exc:
                all_flushed = False
                log.error("could not flush %s: %s", partition, exc.message)
            all_flushed = all_flushed and partition.offline is None
        try:
            self.write_recovery_checkpoint()
            if all_flushed:
                write_metadata(self.data_dir / CLEAN_SHUTDOWN_MARKER, CHECKPOINT_FORMAT, {})
        except OSError as exc:
            all_flushed = False
            log.error("cannot write the shutdown checkpoint in %s: %s", self.data_dir, exc)
        if not all_flushed:
            log.error("not marking %s as cleanly shut down: what could not be flushed is "
                      "recovered at the next start", self.data_dir)
        self._topics.clear()
        self._by_id.clear()
        self._collisions.clear()
        self._partition_count = 0
        self.files.clear()
        self._lock = None
        log.info("closed %s", self.data_dir)
        return all_flushed

    # --- recovery checkpoint ------------------------------------------------

    def recovery_checkpoint(self) -> dict:
        """The checkpoint as of now (cheap; on the loop's thread)."""
        return {"partitions": {
            p.directory.name: {"topic_id": str(p.topic.topic_id), "offset": p.recovery_point}
            for p in self.partitions() if p.offline is None}}

    def write_recovery_checkpoint(self, checkpoint: dict | None = None) -> None:
        """Store a checkpoint (by default, the current one); safe on a worker thread with one."""
        write_metadata(self.data_dir / RECOVERY_CHECKPOINT, CHECKPOINT_FORMAT,
                       self.recovery_checkpoint() if checkpoint is None else checkpoint)

    def _read_recovery_points(self) -> dict[str, tuple[uuid.UUID, int]]:
        path = self.data_dir / RECOVERY_CHECKPOINT
        try:
            meta = read_metadata(path, CHECKPOINT_FORMAT)
            if meta is None:
                return {}
            return {name: (uuid.UUID(entry["topic_id"]), int(entry["offset"]))
                    for name, entry in meta["partitions"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("%s is unreadable (%s): recovering every segment", path, exc)
            return {}

    # --- topics -------------------------------------------------------------

    def _register(self, topic: Topic) -> None:
        self._topics[topic.name] = topic
        self._by_id[topic.topic_id] = topic
        self._collisions[collision_key(topic.name)] = topic.name
        self._partition_count += len(topic.partitions)

    def topic(self, name: str) -> Topic | None:
        return self._topics.get(name)

    def topic_by_id(self, topic_id: uuid.UUID) -> Topic | None:
        return self._by_id.get(topic_id)

    def topics(self) -> list[Topic]:
        return list(self._topics.values())

    def partition(self, name: str, index: int) -> PartitionLog | None:
        topic = self._topics.get(name)
        if topic is None or not 0 <= index < len(topic.partitions):
            return None
        return topic.partitions[index]

    def serving(self, name: str, index: int) -> PartitionLog:
        """The partition, if it exists and serves; LogError with the code to answer if not."""
        partition = self.partition(name, index)
        if partition is None:
            raise LogError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                           f"unknown topic or partition {name}-{index}")
        partition.ensure_available()
        return partition

    def partitions(self) -> Iterator[PartitionLog]:
        for topic in list(self._topics.values()):
            yield from topic.partitions

    # --- creating -----------------------------------------------------------
    # A creation is checked (`plan_topics`, `plan_partitions`) and registered
    # (`register`) on the caller's thread, the event loop's in the broker;
    # `build` does the file work in between and is safe on a worker thread.
    # Creations are not run concurrently with each other or with other
    # changes of topics: the broker runs topic changes one at a time.

    @property
    def partition_count(self) -> int:
        """Partitions of every topic, as `max_partitions` counts them."""
        return self._partition_count

    def create_topic(self, name: str, num_partitions: int, configs: dict[str, str] | None = None,
                     *, validate_only: bool = False) -> Topic:
        """Create a topic (`num_partitions` -1: the broker default, as KIP-464
        has it), all on this thread; raises LogError."""
        plan = self.plan_topics([(name, num_partitions, configs or {})])[0]
        if isinstance(plan, LogError):
            raise plan
        if validate_only:
            return self.would_be(plan)
        self.build([plan])
        return _created(self.register([plan])[0])

    def create_partitions(self, name: str, new_total: int, *, validate_only: bool = False) -> Topic:
        """Grow a topic to `new_total` partitions, all on this thread; raises LogError."""
        plan = self.plan_partitions(name, new_total)
        if validate_only:
            assert plan.topic is not None
            return plan.topic
        self.build([plan])
        return _created(self.register([plan])[0])

    def plan_topics(self, wanted: list[tuple[str, int, dict[str, str]]]) -> list[Creation | LogError]:
        """Check the creation of each (name, partitions, configs), in order and
        each as if the ones before it were made: the plan to build, or the
        error to answer.  Nothing is changed."""
        plans: list[Creation | LogError] = []
        # The names planned here, by collision_key.
        names: dict[str, str] = {}
        planned = 0
        for name, num_partitions, configs in wanted:
            try:
                check_topic_name(name)
                key = collision_key(name)
                if name in self._topics or name in KAFKA_INTERNAL_TOPICS or names.get(key) == name:
                    raise LogError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
                other = self._collisions.get(key) or names.get(key)
                if other is not None:
                    raise LogError(ErrorCode.INVALID_TOPIC_EXCEPTION,
                                   f"Topic '{name}' collides with existing topic: {other}")
                if num_partitions == -1:
                    num_partitions = self.defaults.num_partitions
                check_partition_count(num_partitions)
                overrides = validate(configs)
                self._check_partition_limit(planned + num_partitions, f"Topic '{name}'")
            except LogError as exc:
                plans.append(exc)
                continue
            names[key] = name
            planned += num_partitions
            plans.append(Creation(name, 0, num_partitions, overrides=overrides))
        return plans

    def would_be(self, plan: Creation) -> Topic:
        """The topic a planned creation would make (for validate-only answers)."""
        assert plan.overrides is not None
        return Topic(plan.name, uuid.uuid4(), plan.overrides, self.layers)

    def plan_partitions(self, name: str, new_total: int) -> Creation:
        """Check growing a topic to `new_total` partitions; raises LogError."""
        topic = self._topics.get(name)
        if topic is None:
            raise LogError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic '{name}' does not exist.")
        current = len(topic.partitions)
        if new_total == current:
            raise LogError(ErrorCode.INVALID_PARTITIONS, f"Topic already has {current} partitions.")
        if new_total < current:
            raise LogError(ErrorCode.INVALID_PARTITIONS,
                           f"Topic currently has {current} partitions, which is higher than the "
                           f"requested {new_total}.")
        check_partition_count(new_total)
        self._check_partition_limit(new_total - current, f"Adding {new_total - current} "
                                    f"partition(s) to topic '{name}'")
        return Creation(name, current, new_total, topic=topic)

    def _check_partition_limit(self, adding: int, what: str) -> None:
        limit = self.defaults.max_partitions
        if self._partition_count + adding > limit:
            raise LogError(ErrorCode.POLICY_VIOLATION,
                           f"{what} would take the broker to {self._partition_count + adding} "
                           f"partitions, above its limit of {limit} (kgw's --max-partitions).")

    def build(self, plans: list[Creation]) -> None:
        """Make the planned partitions' files; safe on a worker thread."""
        build_creations(plans, self.data_dir, self.hooks, self.layers)

    def register(self, plans: list[Creation]) -> list[Topic | LogError]:
        """Take what `build` made into the broker's state: each plan's topic,
        or the error to answer for it."""
        outcomes: list[Topic | LogError] = []
        for plan in plans:
            topic = plan.topic
            if plan.error is not None or topic is None:
                doing = "create topic" if plan.new_topic else "add partitions to"
                outcomes.append(LogError(ErrorCode.KAFKA_STORAGE_ERROR,
                                         f"cannot {doing} {plan.name}: {plan.error}"))
                continue
            topic.partitions.extend(plan.partitions)
            if plan.new_topic:
                self._register(topic)
                log.info("created topic %s (%s) with %d partition(s)%s", topic.name,
                         topic.topic_id, plan.total,
                         f", configs {topic.overrides}" if topic.overrides else "")
            else:
                self._partition_count += plan.count
                log.info("topic %s now has %d partitions", topic.name, plan.total)
            outcomes.append(topic)
        return outcomes

    def alter_topic_configs(self, name: str, overrides: dict[str, str], *,
                            validate_only: bool = False) -> Topic:
        """Replace the topic's overrides (not named: back to the broker
        default), as AlterConfigs does; the metadata file is rewritten first.
        The configs are judged before the topic's existence, in Kafka's order."""
        validate(overrides)
        topic = self._topics.get(name)
        if topic is None:
            raise LogError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic '{name}' does not exist.")
        if validate_only:
            return topic
        previous = topic.overrides
        topic.set_overrides(overrides)
        try:
            topic.save(self.data_dir, len(topic.partitions))
        except OSError as exc:
            topic.set_overrides(previous)
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR,
                           f"cannot change the configs of {name}: {exc}") from exc
        log.info("topic %s configs now %s", name, topic.overrides or "the defaults")
        return topic

    def alter_broker_configs(self, level: str, configs: dict[str, str], *,
                             validate_only: bool = False) -> None:
        """Replace one dynamic layer of broker configs (config_layers.CLUSTER
        or BROKER), as AlterConfigs on the broker resource does: the file
        first, then every topic's configs, at once."""
        self.layers.check(configs)
        if validate_only:
            return
        try:
            self.layers.save(self.data_dir, level, configs)
        except OSError as exc:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR,
                           f"cannot change the broker configs: {exc}") from exc
        self.layers.set_dynamic(level, configs)
        for topic in self._topics.values():
            topic.refresh()
        log.info("dynamic %s broker configs now %s", level, configs or "none")

    def delete_topic(self, name: str) -> None:
        """Delete a topic and its files; fetches holding file ranges still complete."""
        topic = self._topics.get(name)
        if topic is None:
            raise LogError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic '{name}' does not exist.")
        try:
            # The metadata file goes first: once it is gone the topic is gone,
            # and partition directories a crash leaves behind are orphans
            # that the next open() removes.
            meta = topic.meta_path(self.data_dir)
            meta.unlink()
            fsync_dir(meta.parent)
        except OSError as exc:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR, f"cannot delete topic {name}: {exc}") from exc
        del self._topics[name]
        del self._by_id[topic.topic_id]
        del self._collisions[collision_key(name)]
        self._partition_count -= len(topic.partitions)
        for partition in topic.partitions:
            # Renamed first, as Kafka does, so that a crash in the middle
            # leaves directories the next open() knows it may remove.
            renamed = partition.directory.with_name(
                f"{partition.directory.name}.{topic.topic_id.hex}{DELETED_SUFFIX}")
            try:
                os.rename(partition.directory, renamed)
                partition.directory = renamed
            except OSError as exc:
                log.error("cannot rename %s before deleting it: %s", partition.directory, exc)
            partition.delete()
        log.info("deleted topic %s (%s)", name, topic.topic_id)

    # --- retention ----------------------------------------------------------

    def enforce_retention(self, now_ms: int | None = None) -> int:
        """Run retention over every partition; the number of segments deleted.

        A partition whose files cannot be deleted (or whose roll fails) is
        logged and skipped; the others still get their retention.
        """
        now = self.now_ms() if now_ms is None else now_ms
        deleted = 0
        for partition in self.partitions():
            try:
                deleted += enforce_retention(partition, now)
            except (OSError, LogError) as exc:
                log.error("retention of %s failed: %s", partition, exc)
        return deleted


def _holds_only_log_files(directory: Path) -> bool:
    for entry in os.scandir(directory):
        name = entry.name
        if not (name in (LOG_START_OFFSET_FILE, PENDING_FILE, SUPERSEDED_FILE) or name.endswith(".tmp")
                or parse_stem(name) is not None):
            return False
    return True


def _created(outcome: "Topic | LogError") -> Topic:
    if isinstance(outcome, LogError):
        raise outcome
    return outcome
