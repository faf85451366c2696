"""The two brokers of a run: a `kgw serve` child process and Apache Kafka,
each started once, side by side, with fresh data dirs."""

import contextlib
import shutil
import tempfile
import threading
import time
from pathlib import Path

from compat.harness import KgwProcess, Wire
from compat.reference.apache_kafka import ApacheKafka
from protocol.messages import (
    DESCRIBE_GROUPS, DESCRIBE_TRANSACTIONS, FIND_COORDINATOR, INIT_PRODUCER_ID, LIST_GROUPS, LIST_TRANSACTIONS,
)

WARM_UP_TIMEOUT_S = 60
GROUP_KEY, TRANSACTION_KEY = 0, 1
# offsets.topic.num.partitions and transaction.state.log.num.partitions.
INTERNAL_PARTITIONS = 50
TRANSACTIONAL_ID_NOT_FOUND = 105


@contextlib.contextmanager
def both_brokers(keep: Path | None = None):
    """(kgw, kafka), started in parallel (Kafka takes seconds, kgw a
    fraction of one) and warmed up; their data dirs (and Kafka's log) go
    to a temporary dir, or to `keep`, which is left behind."""
    with contextlib.ExitStack() as stack:
        if keep is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="kgw-differential-"))
        else:
            shutil.rmtree(keep, ignore_errors=True)
            tmp = str(keep)
        kafka = ApacheKafka(Path(tmp, "kafka"))
        kgw = KgwProcess(Path(tmp, "kgw"))
        failure: list[BaseException] = []

        def start_kgw():
            try:
                kgw.start()
            except BaseException as exc:  # re-raised below, in the caller's thread
                failure.append(exc)

        # Kafka starts in this thread: its JVM is told to stop when the
        # thread that started it ends (PR_SET_PDEATHSIG follows the thread).
        starter = threading.Thread(target=start_kgw)
        starter.start()
        try:
            kafka.start()
        finally:
            starter.join()
        try:
            if failure:
                raise failure[0]
            for bootstrap in (kgw.bootstrap, kafka.bootstrap):
                warm_up(bootstrap)
            yield kgw, kafka
        finally:
            kgw.stop()
            kafka.stop()


def warm_up(bootstrap: str) -> None:
    """Make both coordinators ready: Kafka creates __consumer_offsets and
    __transaction_state on first use, loads their partitions in the
    background and fetches a block of producer ids from its controller,
    answering COORDINATOR_NOT_AVAILABLE or COORDINATOR_LOAD_IN_PROGRESS
    meanwhile: a start-up state no scenario means to compare."""
    deadline = time.monotonic() + WARM_UP_TIMEOUT_S
    with Wire(bootstrap, client_id="warm-up") as wire:
        def until_ready(api, version, error_of, **fields):
            while True:
                body = wire.call(api.key, version, **fields)
                if error_of(body) == 0:
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{bootstrap}: {api.name} still answers {body}")
                time.sleep(0.1)

        for key_type in (GROUP_KEY, TRANSACTION_KEY):
            until_ready(FIND_COORDINATOR, 6, lambda r: r.coordinators[0].error_code, key_type=key_type,
                        coordinator_keys=["differential-warm-up"])
        until_ready(INIT_PRODUCER_ID, 4, lambda r: r.error_code, transactional_id=None,
                    transaction_timeout_ms=60000)
        until_ready(LIST_TRANSACTIONS, 0, lambda r: r.error_code)
        until_ready(LIST_GROUPS, 4, lambda r: r.error_code)
        # Every partition of both internal topics has its coordinator, once
        # an id of each is known to be unknown rather than unserved.
        until_ready(DESCRIBE_TRANSACTIONS, 0, lambda r: max(
            (s.error_code for s in r.transaction_states if s.error_code != TRANSACTIONAL_ID_NOT_FOUND), default=0),
            transactional_ids=one_id_per_partition("differential-warm-up-txn"))
        until_ready(DESCRIBE_GROUPS, 5, lambda r: max(g.error_code for g in r.groups),
                    groups=one_id_per_partition("differential-warm-up-group"))


def one_id_per_partition(prefix: str) -> list[str]:
    """Ids that Kafka's coordinators place on each of the 50 partitions of
    their internal topic (abs(String.hashCode) % 50, Java's hash)."""
    ids: dict[int, str] = {}
    n = 0
    while len(ids) < INTERNAL_PARTITIONS:
        candidate = f"{prefix}-{n}"
        ids.setdefault(_java_abs(_java_hash(candidate)) % INTERNAL_PARTITIONS, candidate)
        n += 1
    return list(ids.values())


def _java_hash(text: str) -> int:
    """Java's String.hashCode of an ASCII string."""
    h = 0
    for char in text:
        h = (31 * h + ord(char)) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def _java_abs(n: int) -> int:
    # Kafka's Utils.abs: Integer.MIN_VALUE maps to 0.
    return 0 if n == -(1 << 31) else abs(n)
