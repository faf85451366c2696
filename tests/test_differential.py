"""The differential suite's own parts, without either broker: how answers
are normalised and compared, what the table of differences explains, and
what the corpus covers."""

import pathlib
import time
import uuid

import pytest

from compat.differential.compare import ABSENT, Diff, diff_values
from compat.differential.differences import DIFFERENCES, Difference, explain
from compat.differential.corpus import SCENARIOS
from compat.differential.normalise import Normaliser
from compat.differential.scenario import Batch, Context, Ref, message, resolve, uses_refs
from kgw.handlers import load_all
from protocol.messages import (
    API_VERSIONS, DESCRIBE_CONFIGS, INIT_PRODUCER_ID, JOIN_GROUP, LIST_GROUPS, METADATA, PRODUCE, REQUEST_CODECS,
)
from protocol.records import iter_batches

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _join_response(member: str, leader: str, members: list[str]):
    Response = JOIN_GROUP.Response
    return Response(error_code=0, generation_id=1, protocol_type="consumer", protocol_name="range",
                    leader=leader, member_id=member,
                    members=[Response.JoinGroupResponseMember(member_id=m, metadata=b"") for m in members])


def test_made_up_ids_become_symbols_that_keep_equality():
    normalise = Normaliser(9092, "s")
    first = normalise(JOIN_GROUP.key, _join_response("c-1f3a", "c-1f3a", ["c-1f3a", "d-99"]))
    assert first["member_id"] == first["leader"] == "<member 1>"
    assert [m["member_id"] for m in first["members"].values()] == ["<member 1>", "<member 2>"]
    # The symbols last across the steps of one scenario.
    later = normalise(JOIN_GROUP.key, _join_response("d-99", "c-1f3a", []))
    assert (later["member_id"], later["leader"]) == ("<member 2>", "<member 1>")
    # Another broker's ids, in the same order, read the same.
    other = Normaliser(19092, "s")(JOIN_GROUP.key, _join_response("x", "x", ["x", "y"]))
    assert other == first


def test_a_collection_keyed_by_made_up_ids_sorts_by_their_symbols():
    # Kafka lists a group's members in no particular order; each broker made
    # up its own ids, which sort differently, but the symbols sort alike.
    kgw, kafka = Normaliser(1, "s"), Normaliser(2, "s")
    kgw(JOIN_GROUP.key, _join_response("b-2", "b-2", []))
    kafka(JOIN_GROUP.key, _join_response("z-9", "z-9", []))
    kgw(JOIN_GROUP.key, _join_response("a-1", "", []))
    kafka(JOIN_GROUP.key, _join_response("y-8", "", []))
    assert kgw(JOIN_GROUP.key, _join_response("b-2", "b-2", ["a-1", "b-2"])) == \
        kafka(JOIN_GROUP.key, _join_response("z-9", "z-9", ["z-9", "y-8"]))


def test_absent_ids_are_kept():
    answer = INIT_PRODUCER_ID.Response(error_code=47, producer_id=-1, producer_epoch=-1)
    assert Normaliser(1, "s")(INIT_PRODUCER_ID.key, answer)["producer_id"] == -1
    topic = METADATA.Response.MetadataResponseTopic(name="s-t", topic_id=uuid.UUID(int=0), partitions=[])
    plain = Normaliser(1, "s")(METADATA.key, METADATA.Response(brokers=[], topics=[topic]))
    assert plain["topics"]["s-t"]["topic_id"] == uuid.UUID(int=0)


def test_port_clock_throttle_and_message_wording():
    now = int(time.time() * 1000)
    Partition = PRODUCE.Response.TopicProduceResponse.PartitionProduceResponse
    answer = PRODUCE.Response(throttle_time_ms=7, responses=[PRODUCE.Response.TopicProduceResponse(
        name="s-t", partition_responses=[
            Partition(index=0, error_code=0, base_offset=3, log_append_time_ms=now, error_message=None),
            Partition(index=1, error_code=87, base_offset=-1, log_append_time_ms=1_600_000_000_000,
                      error_message="bad record"),
            Partition(index=2, error_code=87, base_offset=-1, error_message="")])])
    plain = Normaliser(9092, "s")(PRODUCE.key, answer)
    assert "throttle_time_ms" not in plain
    first, second, third = plain["responses"]["s-t"]["partition_responses"].values()
    assert first["log_append_time_ms"] == "<now>"
    assert second["log_append_time_ms"] == 1_600_000_000_000
    assert (first["error_message"], second["error_message"], third["error_message"]) == (None, "<message>", "")
    broker = METADATA.Response.MetadataResponseBroker(node_id=0, host="127.0.0.1", port=9092)
    assert Normaliser(9092, "s")(METADATA.key, METADATA.Response(brokers=[broker]))["brokers"][0]["port"] == "<port>"


def test_a_config_value_naming_the_brokers_port_or_data_dir():
    Result = DESCRIBE_CONFIGS.Response.DescribeConfigsResult
    Entry = Result.DescribeConfigsResourceResult

    def answer(port, data_dir):
        return DESCRIBE_CONFIGS.Response(results=[Result(error_code=0, resource_type=4, resource_name="0", configs=[
            Entry(name="listeners", value=f"PLAINTEXT://127.0.0.1:{port}", synonyms=[
                Entry.DescribeConfigsSynonym(name="listeners", value=f"PLAINTEXT://127.0.0.1:{port}", source=4)]),
            Entry(name="log.dirs", value=data_dir)])])

    kgw = Normaliser(43245, "s", "/tmp/d/kgw")(DESCRIBE_CONFIGS.key, answer(43245, "/tmp/d/kgw"))
    kafka = Normaliser(36001, "s", "/tmp/d/kafka")(DESCRIBE_CONFIGS.key, answer(36001, "/tmp/d/kafka"))
    assert kgw == kafka
    configs = kgw["results"][0]["configs"]
    assert configs["listeners"]["value"] == "PLAINTEXT://127.0.0.1:<port>"
    assert configs["listeners"]["synonyms"]["listeners,4"]["value"] == "PLAINTEXT://127.0.0.1:<port>"
    assert configs["log.dirs"]["value"] == "<data dir>"
    # Only the port after a colon, as a whole number.
    other = Normaliser(4324, "s")(DESCRIBE_CONFIGS.key, answer(43245, "4324"))["results"][0]["configs"]
    assert (other["listeners"]["value"], other["log.dirs"]["value"]) == ("PLAINTEXT://127.0.0.1:43245", "4324")


def test_unordered_collections_compare_by_key_and_scoped_lists_by_scenario():
    Listed = LIST_GROUPS.Response.ListedGroup
    groups = [Listed(group_id=g, protocol_type="consumer") for g in ("s-b", "other-a", "s-a", "__x")]
    plain = Normaliser(1, "s")(LIST_GROUPS.key, LIST_GROUPS.Response(groups=groups))
    assert list(plain["groups"]) == ["__x", "s-a", "s-b"]
    kafka = Normaliser(1, "s")(LIST_GROUPS.key, LIST_GROUPS.Response(groups=groups[:3]))
    assert diff_values(plain, kafka) == [("groups[__x]", plain["groups"]["__x"], ABSENT)]


def test_api_keys_are_keyed_by_their_number():
    ApiVersion = API_VERSIONS.Response.ApiVersion
    kgw = Normaliser(1, "s")(API_VERSIONS.key, API_VERSIONS.Response(api_keys=[
        ApiVersion(api_key=3, min_version=0, max_version=12), ApiVersion(api_key=0, min_version=0, max_version=10)]))
    kafka = Normaliser(1, "s")(API_VERSIONS.key, API_VERSIONS.Response(api_keys=[
        ApiVersion(api_key=0, min_version=0, max_version=13), ApiVersion(api_key=3, min_version=0, max_version=12),
        ApiVersion(api_key=60, min_version=0, max_version=2)]))
    assert diff_values(kgw, kafka) == [("api_keys[0].max_version", 10, 13),
                                       ("api_keys[60]", ABSENT, kafka["api_keys"]["60"])]


def test_records_are_compared_batch_by_batch():
    batch = Batch((b"a", b"b")).resolve(Context("s"))
    # A Produce request carries a records field as well as a Fetch answer does.
    answer = PRODUCE.Request(acks=1, timeout_ms=1, topic_data=[PRODUCE.Request.TopicProduceData(
        name="s-t", partition_data=[PRODUCE.Request.TopicProduceData.PartitionProduceData(
            index=0, records=batch + batch[:20])])])
    plain = Normaliser(1, "s")(PRODUCE.key, answer)
    batches = plain["topic_data"][0]["partition_data"][0]["records"]
    assert [b.get("record_count") for b in batches] == [2, None]
    assert batches[0]["crc_ok"] is True
    assert [r["value"] for r in batches[0]["records"]] == [b"a", b"b"]
    assert batches[1] == {"partial_batch_bytes": 20}


def test_diff_paths_name_list_items_and_missing_fields():
    assert diff_values({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}, 4]}) == [
        ("a[1].b", 2, 3), ("a[2]", ABSENT, 4)]
    assert diff_values({"x": True}, {"x": 1}) == [("x", True, 1)]
    assert diff_values("<connection closed>", {"error_code": 0}) == [("", "<connection closed>", {"error_code": 0})]


def _diff(path: str, kgw, kafka, api_key: int = 18) -> Diff:
    return Diff(0, "step", api_key, path, kgw, kafka)


def test_an_entry_explains_only_its_api_paths_and_values():
    entry = Difference("k", "why", 18, ("api_keys[*].max_version",), when=lambda kgw, kafka: kgw < kafka)
    assert entry.explains("s", _diff("api_keys[3].max_version", 12, 13))
    assert not entry.explains("s", _diff("api_keys[3].max_version", 13, 12))
    assert not entry.explains("s", _diff("api_keys[3].min_version", 0, 1))
    assert not entry.explains("s", _diff("api_keys[3].max_version", 12, 13, api_key=3))
    narrowed = Difference("k", "why", None, ("error_code",), scenarios=("produce.*",))
    assert narrowed.explains("produce.v9", _diff("error_code", 0, 1, api_key=0))
    assert not narrowed.explains("fetch.v9", _diff("error_code", 0, 1, api_key=0))


def test_list_indexes_and_keys_match_one_item_only():
    entry = Difference("k", "why", None, ("topics[*].error_code",))
    assert entry.explains("s", _diff("topics[0].error_code", 0, 3))
    assert entry.explains("s", _diff("topics[s-t].error_code", 0, 3))
    assert not entry.explains("s", _diff("topics[0].partitions[1].error_code", 0, 3))


def test_explain_sorts_what_the_table_covers_from_what_it_does_not():
    diffs = [_diff("api_keys[60]", ABSENT, {"api_key": 60}), _diff("error_code", 0, 35)]
    used, unexplained = explain("apiversions.v3", diffs)
    assert used == {"apiversions-served"}
    assert unexplained == diffs[1:]


def test_every_documented_difference_is_in_the_readme():
    readme = README.read_text()
    keys = [d.key for d in DIFFERENCES]
    assert len(set(keys)) == len(keys)
    missing = [key for key in keys if f"`{key}`" not in readme]
    assert not missing, f"README's Differences from Apache Kafka lacks {missing}"


def test_no_documented_difference_is_pending():
    pending = [d.key for d in DIFFERENCES if d.pending]
    assert not pending, f"reconcile {pending}: fix kgw, or give the difference its reason"


def test_a_run_fails_on_a_pending_or_a_stale_entry(monkeypatch, capsys):
    from compat.differential import __main__ as run
    from compat.differential.__main__ import Result

    results = [Result(scenario) for scenario in SCENARIOS]
    for result in results:
        result.used = {d.key for d in DIFFERENCES}
    assert run.report(results, verbose=False, answers=False) == 0
    monkeypatch.setattr(run, "DIFFERENCES", [*DIFFERENCES, Difference("new", "why", 18, ("x",), pending="later")])
    assert run.report(results, verbose=False, answers=False) == 1
    assert "PENDING: the documented difference new is not reconciled: later" in capsys.readouterr().out
    results[0].used = set()
    monkeypatch.setattr(run, "DIFFERENCES", [*DIFFERENCES, Difference("unused", "why", 18, ("x",))])
    assert run.report(results, verbose=False, answers=False) == 1
    assert "STALE: the documented difference unused explained nothing" in capsys.readouterr().out


def test_scenario_names_and_refs_resolve_per_broker():
    ctx = Context("produce.v9")
    ctx.saved["p"] = 4000
    fields = {"name": "$t", "records": Batch((b"x",), producer_id=Ref("p"), producer_epoch=0, base_sequence=0)}
    assert uses_refs(fields) and not uses_refs({"name": "$t"})
    resolved = resolve(fields, ctx)
    assert resolved["name"] == "produce.v9-t"
    (batch,) = iter_batches(resolved["records"])
    assert batch.producer_id == 4000
    with pytest.raises(KeyError, match="was not saved"):
        resolve(Ref("q"), ctx)


def test_request_fields_must_be_declared():
    with pytest.raises(TypeError, match="no field"):
        message(METADATA.request, {"topics": [], "no_such_field": 1})
    built = message(METADATA.request, {"topics": [{"name": "a"}], "allow_auto_topic_creation": False})
    assert built.topics[0].name == "a" and built.allow_auto_topic_creation is False


def test_the_corpus_sends_every_version_kgw_advertises():
    sent = {(s.api.key, s.version) for scenario in SCENARIOS for s in scenario.steps if s.api is not None}
    missing = [f"{h.api.name} v{v}" for key, h in sorted(load_all().items())
               for v in range(h.min_version, h.max_version + 1) if (key, v) not in sent]
    assert not missing, f"no scenario sends {missing}"


def test_the_corpus_is_large_and_its_names_are_its_own():
    names = [s.name for s in SCENARIOS]
    assert len(names) >= 300 and len(set(names)) == len(names)
    for scenario in SCENARIOS:
        collected = [s.conn for s in scenario.steps if s.collect]
        deferred = [s.conn for s in scenario.steps if s.defer]
        assert sorted(collected) == sorted(deferred), f"{scenario.name}: every deferred answer is collected"


def test_every_request_of_the_corpus_can_be_built():
    # With made-up saved values standing in for each broker's answers.
    for scenario in SCENARIOS:
        ctx = _AnyValue(scenario.name)
        for s in scenario.steps:
            if s.api is not None:
                REQUEST_CODECS[s.api.key, s.version].to_bytes(message(s.api.request, resolve(s.fields, ctx)))


class _AnyValue(Context):
    def __init__(self, scenario: str):
        super().__init__(scenario)
        self.saved = _Saved()


class _Saved(dict):
    """Topic ids are saved as "id:<topic>", producers as p, p2, q and
    members as m1, m2, n1, each with ".gen", ".epoch" or ".leader"."""

    def __getitem__(self, key):
        if key.startswith("id:"):
            return uuid.UUID(int=1)
        if key.endswith((".gen", ".epoch")) or key.startswith(("p", "q")):
            return 1
        return "member-1"
