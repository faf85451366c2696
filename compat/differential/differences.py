"""Every difference from Apache Kafka that the differential suite allows,
with its reason: THE table. The README's "Differences from Apache Kafka"
names each entry by its key (tests/test_differential.py checks it).

An entry explains a differing field when the API, the field's path (list
indexes written "[]") and, where given, the scenario names and the two
values match. A scenario whose every differing field is explained is a
documented difference; anything else is unexplained and fails the run.
An entry marked `pending` is one still to be reconciled (kgw to be fixed,
or the difference to be given its reason): a run with one fails, as does
a full run in which an entry explained nothing (a stale entry).
"""

import functools
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Callable

from protocol.primitives import NULL_UUID

from .compare import ABSENT, Diff
from .runner import NO_ANSWER

@dataclass(frozen=True)
class Difference:
    key: str
    reason: str
    api: int | None
    # Patterns over Diff.shape: "[*]" is any one item of a list or keyed
    # collection, "*" any run of characters.
    paths: tuple[str, ...]
    # fnmatch patterns over scenario names; empty: any scenario.
    scenarios: tuple[str, ...] = ()
    # Narrows it to these values: when(kgw value, kafka value).
    when: Callable[[Any, Any], bool] | None = None
    # Why the entry is not reconciled yet: a run with one fails.
    pending: str | None = None

    def explains(self, scenario: str, diff: Diff) -> bool:
        if self.api is not None and diff.api_key != self.api:
            return False
        if self.scenarios and not any(fnmatchcase(scenario, s) for s in self.scenarios):
            return False
        if not any(_path_pattern(p).fullmatch(diff.shape) for p in self.paths):
            return False
        return self.when is None or bool(self.when(diff.kgw, diff.kafka))


@functools.cache
def _path_pattern(pattern: str) -> re.Pattern:
    parts = re.split(r"(\[\*\]|\*)", pattern)
    return re.compile("".join({"[*]": r"\[[^\]]*\]", "*": ".*"}.get(part, re.escape(part)) for part in parts))


def _kgw_absent(kgw, kafka) -> bool:
    return kgw == ABSENT


def _kgw_lower(kgw, kafka) -> bool:
    return isinstance(kgw, int) and isinstance(kafka, int) and kgw < kafka


DIFFERENCES: list[Difference] = [
    Difference(
        "apiversions-served",
        "kgw advertises the APIs it serves, each up to the version it implements: a subset of "
        "Kafka's (no ACLs, quotas, KRaft, share groups, KIP-848 consumer groups, telemetry...; "
        "Produce to v10, Fetch to v16, JoinGroup to v7, the KIP-890 transaction versions not at all). "
        "Clients negotiate down from what is advertised.",
        18, ("api_keys[*]", "api_keys[*].max_version"),
        when=lambda kgw, kafka: _kgw_absent(kgw, kafka) or _kgw_lower(kgw, kafka)),
    Difference(
        "apiversions-features",
        "kgw has no feature flags (KIP-584): it names no supported or finalized features. Without "
        "finalized ones clients keep to the first transaction protocol and the classic group "
        "protocol, which is what kgw serves; Kafka 4 finalizes transaction.version 2 and group.version 1.",
        18, ("supported_features[*]", "finalized_features[*]", "finalized_features_epoch"),
        when=lambda kgw, kafka: kgw in (ABSENT, -1)),
    Difference(
        "metadata-internal-topics",
        "kgw keeps committed offsets and transaction state in stores of its own, not in Kafka's internal "
        "topics, so Metadata lists no __consumer_offsets or __transaction_state (consumers leave internal "
        "topics out anyway); creating one is refused as on Kafka, where they exist.",
        3, ("topics[__consumer_offsets]*", "topics[__transaction_state]*")),
    Difference(
        "metadata-auto-create-at-once",
        "Metadata auto-creates a topic before it answers, so the first answer already has the topic; Kafka "
        "answers UNKNOWN_TOPIC_OR_PARTITION and creates it in the background, and clients ask again.",
        3, ("topics[*].error_code", "topics[*].topic_id", "topics[*].partitions[*]"),
        scenarios=("metadata.*auto-create*",),
        when=lambda kgw, kafka: kafka in (3, ABSENT) or (kgw != ABSENT and kafka == NULL_UUID)),
    Difference(
        "transactions-offsets-partition",
        "A transaction that AddOffsetsToTxn joined to a group: Kafka lists the group's __consumer_offsets "
        "partition among the transaction's partitions (DescribeTransactions), kgw, which has no such topic, "
        "only the partitions holding its records.",
        65, ("transaction_states[*].topics[__consumer_offsets]",)),
    Difference(
        "initproducerid-fences-at-once",
        "InitProducerId that fences a producer with an open transaction aborts it before answering, with "
        "the new epoch; Kafka answers CONCURRENT_TRANSACTIONS, aborts in the background, and the client "
        "asks again (as kgw answers EndTxn once its markers are written, README).",
        22, ("error_code", "producer_id", "producer_epoch"), scenarios=("*first-answer*",),
        when=lambda kgw, kafka: kafka in (51, -1)),
    Difference(
        "fetch-sessions",
        "Fetch sessions (KIP-227): kgw answers every full fetch sessionless (session id 0), also one asking "
        "for a session (epoch 0); Kafka opens one and names it. Clients then send full fetches.",
        1, ("session_id",), when=lambda kgw, kafka: kgw == 0 and isinstance(kafka, int) and kafka != 0),
    Difference(
        "produce-null-records",
        "A Produce whose records are null: Kafka fails inside the broker (a NullPointerException) and "
        "never answers, so the client waits out its request timeout; kgw answers INVALID_RECORD, as "
        "Kafka answers records that hold no batch.",
        0, ("",), scenarios=("produce.null-records",), when=lambda kgw, kafka: kafka == NO_ANSWER),
    Difference(
        "fetch-whole-batches",
        "Fetch sends whole batches only: where the size limits cut a batch, kgw stops before it; Kafka "
        "fills the limit with the first part of that batch, which every consumer drops and fetches "
        "again. The records a consumer gets, and the offset it asks next, are the same.",
        1, ("responses[*].partitions[*].records[*]",),
        when=lambda kgw, kafka: kgw == ABSENT and isinstance(kafka, dict) and set(kafka) == {"partial_batch_bytes"}),
    Difference(
        "describeconfigs-documentation",
        "The documentation DescribeConfigs v3+ gives for each config (include_documentation) is kgw's own "
        "text, saying what the config does in kgw; Kafka's is its own documentation, which kgw does not copy.",
        32, ("results[*].configs[*].documentation",),
        when=lambda kgw, kafka: isinstance(kgw, str) and isinstance(kafka, str)),
    Difference(
        "broker-configs-read-only",
        "Kafka lets one broker change its thread pools, connection quotas, TLS and SASL settings, listeners, "
        "the log cleaner's tuning and a few more at runtime; kgw has none of these to change, describes them "
        "read-only with Kafka's defaults and refuses to change them as Kafka refuses a read-only config "
        "(INVALID_REQUEST 'Cannot update these configs dynamically'). Only the topic configs' broker defaults "
        "(and names Kafka does not know) are dynamic in kgw.",
        32, ("results[*].configs[*].read_only",), when=lambda kgw, kafka: (kgw, kafka) == (True, False)),
    Difference(
        "broker-configs-read-only-refused",
        "Changing one of those configs (broker-configs-read-only): Kafka takes it, kgw answers INVALID_REQUEST.",
        None, ("responses[*].error_code", "responses[*].error_message"), scenarios=("*.read-only-broker-config",),
        when=lambda kgw, kafka: (kgw, kafka) in ((42, 0), ("<message>", None))),
    Difference(
        "broker-configs-listeners",
        "Kafka's one node is also its KRaft controller, with a listener of its own: its listeners, "
        "controller.listener.names, controller.quorum.bootstrap.servers, inter.broker.listener.name and "
        "listener.security.protocol.map name it. kgw has no controller and one client listener, and "
        "describes only that.",
        32, tuple(f"results[*].configs[{name}]*" for name in (
            "listeners", "controller.listener.names", "controller.quorum.bootstrap.servers",
            "inter.broker.listener.name", "listener.security.protocol.map"))),
    Difference(
        "broker-configs-kgw-does-otherwise",
        "Broker configs whose Kafka default kgw does not do are described with what kgw does, from its "
        "command line (STATIC_BROKER_CONFIG): log.cleaner.enable=false (nothing is compacted), "
        "group.coordinator.rebalance.protocols=classic (no KIP-848 or streams groups), and the limits on what "
        "clients can make kgw hold, max.connections and group.max.size, 10000 (README: Limits; Kafka's are "
        "unbounded).",
        32, tuple(f"results[*].configs[{name}]*" for name in (
            "log.cleaner.enable", "group.coordinator.rebalance.protocols", "max.connections", "group.max.size"))),
    Difference(
        "incrementalalterconfigs-unknown-operation",
        "IncrementalAlterConfigs of a topic with an operation no version defines (not SET, DELETE, APPEND or "
        "SUBTRACT): Kafka 4.4.0's controller fails on it (a NullPointerException, logged as a controller fault "
        "that makes it renounce its leadership) and answers UNKNOWN_SERVER_ERROR; kgw answers INVALID_REQUEST "
        "'Unknown operations type N', as Kafka answers it for a broker resource. No client sends one.",
        44, ("responses[*].error_code", "responses[*].error_message"),
        scenarios=("incrementalalterconfigs.unknown-operation",),
        when=lambda kgw, kafka: (kgw, kafka) in ((42, -1), ("<message>", None))),
]


def entry_for(scenario: str, diff: Diff) -> Difference | None:
    """The first entry of the table that explains `diff`, if any."""
    return next((d for d in DIFFERENCES if d.explains(scenario, diff)), None)


def explain(scenario: str, diffs: list[Diff]) -> tuple[set[str], list[Diff]]:
    """(keys of the entries that explain some diffs, the diffs none explains)."""
    used: set[str] = set()
    unexplained = []
    for diff in diffs:
        entry = entry_for(scenario, diff)
        if entry is None:
            unexplained.append(diff)
        else:
            used.add(entry.key)
    return used, unexplained
