"""The five clients behind one interface: `roundtrip` produces `records()`
and reads them back, `failure` tries to connect and returns what went wrong.
The per-client code is only what differs: names of the settings, and
where each client puts its error."""

import asyncio
import logging
import re
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

from ..harness import require, require_program

COUNT = 3
FAIL_WITHIN_S = 5


@dataclass(frozen=True)
class Sasl:
    mechanism: str
    username: str
    password: str


class Failure(NamedTuple):
    raised: str  # what the call raised (or how the program ended)
    error: str | None  # the error behind it, as the client names it
    message: str  # its text, less what varies from run to run


class Result(NamedTuple):
    produced: list[int] | None  # the offsets the producer was told
    consumed: list[tuple]  # (partition, offset, key, value)
    committed: int | None  # the group's committed offset after reading


def records(prefix: str) -> list[tuple[str | None, str]]:
    """(key, value) of the messages kafkajs's `produce` scenario sends
    (standardMessages in scenarios.js); the other clients send the same."""
    from ..kafkajs._node import standard_messages

    return [(m["key"], m["value"]) for m in standard_messages(prefix, COUNT)]


def python_options(sasl: Sasl | None) -> dict:
    """kafka-python's and aiokafka's settings."""
    if sasl is None:
        return {}
    return dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism=sasl.mechanism,
                sasl_plain_username=sasl.username, sasl_plain_password=sasl.password)


def librdkafka_options(sasl: Sasl | None) -> dict:
    if sasl is None:
        return {}
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": sasl.mechanism,
            "sasl.username": sasl.username, "sasl.password": sasl.password}


def _encoded(key, value) -> tuple:
    return (None if key is None else key.encode(), value.encode())


def text_row(partition: int, offset: int, key: str | None, value: str) -> tuple:
    """A consumed row from clients that give text (kcat's JSON, kafkajs)."""
    return (partition, offset, *_encoded(key, value))


@contextmanager
def logged_errors(logger: str):
    """Exceptions handed to `logger` as arguments: the Python clients log
    why a connection failed and raise something vaguer."""
    errors: list[BaseException] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: errors.extend(
        a for a in (record.args if isinstance(record.args, tuple) else ()) if isinstance(a, BaseException))
    logging.getLogger(logger).addHandler(handler)
    try:
        yield errors
    finally:
        logging.getLogger(logger).removeHandler(handler)


def _first_error(raised: BaseException, logged: list) -> Failure:
    """The first error logged that is not a bare lost connection: kafka-python
    may see the close before the error response that came just ahead of it
    (FINDINGS.md), and then tries again."""
    named = [e for e in logged if type(e).__name__ != "KafkaConnectionError"] or logged
    assert named, f"{raised!r} and nothing logged"
    return Failure(type(raised).__name__, type(named[0]).__name__, str(named[0]))


def _librdkafka_text(text: str, bootstrap: str) -> str:
    """librdkafka's error without the broker's name and timing."""
    text = text.replace(f"sasl_plaintext://{bootstrap}/bootstrap: ", "").replace(f"{bootstrap}/bootstrap: ", "")
    return re.sub(r" \(after \d+ms in state \w+(, [^)]*)?\)$", "", text)


class Client:
    name: str
    module: str  # the Python package it needs
    # Whether `roundtrip` reads with a consumer group, and so knows the
    # produced and committed offsets.
    group = True

    def require(self):
        require(self.module)

    def roundtrip(self, bootstrap: str, sasl: Sasl | None, topic: str, group: str) -> Result:
        raise NotImplementedError

    def failure(self, bootstrap: str, sasl: Sasl | None) -> Failure:
        raise NotImplementedError


class KafkaPython(Client):
    name, module = "kafka-python", "kafka"

    def roundtrip(self, bootstrap, sasl, topic, group) -> Result:
        from kafka import TopicPartition

        from ..kafka_python._kp import Clients

        clients, options = Clients(), python_options(sasl)
        try:
            producer = clients.producer(bootstrap, **options)
            futures = [producer.send(topic, key=k, value=v) for k, v in
                       (_encoded(*r) for r in records(topic))]
            produced = [f.get(timeout=10).offset for f in futures]
            consumer = clients.consumer(bootstrap, group_id=group, **options)
            consumer.subscribe([topic])
            got = []
            deadline = time.monotonic() + 15
            while len(got) < COUNT and time.monotonic() < deadline:
                for batch in consumer.poll(timeout_ms=200).values():
                    got.extend((r.partition, r.offset, r.key, r.value) for r in batch)
            consumer.commit()
            return Result(produced, got, consumer.committed(TopicPartition(topic, 0)))
        finally:
            assert not clients.close_all()
            assert not clients.lingering_threads()

    def failure(self, bootstrap, sasl) -> Failure:
        from kafka import KafkaProducer

        with logged_errors("kafka") as logged:
            try:
                # Quick retries, about 20 attempts within the timeout: each
                # loses the race described in FINDINGS.md half the time, and
                # a refusal takes kgw 100 ms, as it takes Kafka.
                KafkaProducer(bootstrap_servers=bootstrap, bootstrap_timeout_ms=3000, reconnect_backoff_ms=10,
                              reconnect_backoff_max_ms=50, **python_options(sasl)).close()
            except Exception as exc:
                return _first_error(exc, logged)
        raise AssertionError("kafka-python connected")


class AioKafka(Client):
    name = module = "aiokafka"

    def roundtrip(self, bootstrap, sasl, topic, group) -> Result:
        return asyncio.run(self._roundtrip(bootstrap, python_options(sasl), topic, group))

    async def _roundtrip(self, bootstrap, options, topic, group) -> Result:
        from ..aiokafka.helpers import TopicPartition, consume, consumer, producer

        prod = producer(bootstrap, **options)
        await prod.start()
        try:
            produced = [(await prod.send_and_wait(topic, key=k, value=v)).offset
                        for k, v in (_encoded(*r) for r in records(topic))]
        finally:
            await prod.stop()
        cons = consumer(bootstrap, group_id=group, **options)
        await cons.start()
        try:
            cons.subscribe([topic])
            got = [(r.partition, r.offset, r.key, r.value) for r in await consume(cons, COUNT)]
            await cons.commit()
            return Result(produced, got, await cons.committed(TopicPartition(topic, 0)))
        finally:
            await cons.stop()

    def failure(self, bootstrap, sasl) -> Failure:
        return asyncio.run(self._failure(bootstrap, python_options(sasl)))

    async def _failure(self, bootstrap, options) -> Failure:
        from ..aiokafka.helpers import producer

        prod = producer(bootstrap, **options)
        with logged_errors("aiokafka") as logged:
            try:
                await prod.start()
            except Exception as exc:
                return _first_error(exc, logged)
            finally:
                await prod.stop()
        raise AssertionError("aiokafka connected")


class ConfluentKafka(Client):
    name, module = "confluent-kafka", "confluent_kafka"

    def roundtrip(self, bootstrap, sasl, topic, group) -> Result:
        from ..confluent.util import Deliveries, ck, consume_to_eof, consumer, producer

        options, delivered = librdkafka_options(sasl), Deliveries()
        with producer(bootstrap, **options) as p:
            for key, value in records(topic):
                p.produce(topic, key=key, value=value, on_delivery=delivered)
        assert not delivered.errors, delivered.errors
        with consumer(bootstrap, group_id=group, auto_offset_reset="earliest", **options) as c:
            c.subscribe([topic])
            got = [row[:4] for row in consume_to_eof(c)]
            c.commit(asynchronous=False)
            [committed] = c.committed([ck().TopicPartition(topic, 0)], timeout=10)
        return Result([r[2] for r in delivered.reports], got, committed.offset)

    def failure(self, bootstrap, sasl) -> Failure:
        from ..confluent.util import producer

        errors = []
        with producer(bootstrap, error_cb=errors.append, **librdkafka_options(sasl)) as p:
            deadline = time.monotonic() + FAIL_WITHIN_S
            while not errors and time.monotonic() < deadline:
                p.poll(0.05)
        assert errors, "confluent-kafka reported no error"
        return Failure("error_cb", errors[0].name(), _librdkafka_text(errors[0].str(), bootstrap))


class Kcat(Client):
    name = "kcat"
    group = False

    def require(self):
        require_program("kcat")

    @staticmethod
    def _args(sasl) -> list[str]:
        return [arg for k, v in librdkafka_options(sasl).items() for arg in ("-X", f"{k}={v}")]

    def roundtrip(self, bootstrap, sasl, topic, group) -> Result:
        from ..kcat.util import consume_json, produce

        # -K: "key:value"; a line without the delimiter has a null key.
        lines = [(value if key is None else f"{key}:{value}").encode() for key, value in records(topic)]
        produce(bootstrap, topic, lines, "-K", ":", *self._args(sasl))
        got = consume_json(bootstrap, topic, *self._args(sasl))
        # kcat -P tells no offsets, and -C -e reads without a group.
        return Result(None, [text_row(m["partition"], m["offset"], m["key"], m["payload"]) for m in got], None)

    def failure(self, bootstrap, sasl) -> Failure:
        from ..kcat.util import kcat

        proc = kcat(bootstrap, "-P", "-t", f"never-{uuid.uuid4().hex}", *self._args(sasl), input=b"x\n",
                    check=False, timeout=FAIL_WITHIN_S + 5)
        match = re.search(r"^% ERROR: (Local: [^:]+): (.*)$", proc.stderr.decode(), re.MULTILINE)
        assert match, proc.stderr
        return Failure(f"exit {proc.returncode}", match[1], _librdkafka_text(match[2], bootstrap))


class KafkaJs(Client):
    name = "kafkajs"

    def require(self):
        from ..kafkajs._node import require_kafkajs

        require_kafkajs()

    @staticmethod
    def _sasl(sasl) -> dict:
        return {} if sasl is None else {"sasl": {"mechanism": sasl.mechanism.lower(), "username": sasl.username,
                                                 "password": sasl.password}}

    def roundtrip(self, bootstrap, sasl, topic, group) -> Result:
        from ..kafkajs._node import run

        options = self._sasl(sasl)
        sent = run("produce", bootstrap, topic, count=COUNT, prefix=topic,
                   producer={"allowAutoTopicCreation": True}, **options)
        got = run("consume", bootstrap, topic, count=COUNT, group=group, **options)
        committed = run("fetch_offsets", bootstrap, topic, group=group, **options)["offsets"]
        assert not got["timedOut"], got
        [[batch]] = sent["results"]  # one send, one partition
        return Result([int(batch["baseOffset"]) + i for i in range(COUNT)],
                      [text_row(m["partition"], m["offset"], m["key"], m["value"]) for m in got["messages"]],
                      int(committed[0]["partitions"][0]["offset"]))

    def failure(self, bootstrap, sasl) -> Failure:
        from ..kafkajs._node import run

        result = run("create_topic", bootstrap, f"never-{uuid.uuid4().hex}", check=False,
                     timeout=FAIL_WITHIN_S + 10, **self._sasl(sasl))
        assert "error" in result, result
        return Failure(result["name"], result.get("type"), result["error"].splitlines()[0].partition(": ")[2])


CLIENTS = [KafkaPython(), AioKafka(), ConfluentKafka(), Kcat(), KafkaJs()]
