"""One group member in a child process, so that a test can SIGKILL it.

    python -m compat.groups.worker CLIENT BOOTSTRAP GROUP TOPIC [options]

CLIENT is kafka-python, aiokafka or confluent. The member subscribes to
TOPIC in GROUP and, for every message: prints a "p" event (processed), then
commits offset+1 synchronously, then prints a "c" event once the commit is
acknowledged (or "cf" with the error if the commit failed). It never
processes the next message before the previous commit returned, so after a
SIGKILL at most one message per partition is processed-but-uncommitted.

Events are JSON lines on stdout, flushed one by one:
  {"ev": "started"}                       the consumer exists and subscribed
  {"ev": "assignment", "parts": [..]}     the member's whole assignment, after
                                          every rebalance callback
  {"ev": "p", "p": P, "o": O, "v": V}     processed message (V = value text)
  {"ev": "c", "p": P, "o": O}             its commit (O + 1) was acknowledged
  {"ev": "cf", "p": P, "o": O, "err": E}  its commit failed
  {"ev": "closed"}                        close() returned; exit follows
A line "stop" on stdin makes the member close cleanly (LeaveGroup).
"""

import argparse
import json
import logging
import os
import sys
import threading
import time


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def stdin_stop_event() -> threading.Event:
    stop = threading.Event()

    def watch():
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop.set()  # "stop", or the parent went away (EOF)

    threading.Thread(target=watch, daemon=True).start()
    return stop


def run_kafka_python(args, stop):
    from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.structs import OffsetAndMetadata

    assignors = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}
    try:
        from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
        assignors["cooperative-sticky"] = CooperativeStickyAssignor
    except ImportError:
        pass
    config = dict(
        bootstrap_servers=args.bootstrap, group_id=args.group, client_id=args.client_id,
        enable_auto_commit=False, auto_offset_reset="earliest",
        session_timeout_ms=args.session_ms, heartbeat_interval_ms=args.heartbeat_ms,
        fetch_max_wait_ms=100, request_timeout_ms=5000, retry_backoff_ms=50,
        reconnect_backoff_ms=20, reconnect_backoff_max_ms=200,
    )
    if args.assignor:
        config["partition_assignment_strategy"] = [assignors[a] for a in args.assignor.split(",")]
    if args.instance_id:
        config["group_instance_id"] = args.instance_id
    consumer = KafkaConsumer(**config)
    owned = set()

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            owned.difference_update(tp.partition for tp in revoked)
            emit(ev="assignment", parts=sorted(owned))

        def on_partitions_assigned(self, assigned):
            owned.update(tp.partition for tp in assigned)
            emit(ev="assignment", parts=sorted(owned))

        def on_partitions_lost(self, lost):
            owned.difference_update(tp.partition for tp in lost)
            emit(ev="assignment", parts=sorted(owned))

    consumer.subscribe([args.topic], listener=Listener())
    # Work around a kafka-python 3.0.12 bug (FINDINGS.md): when the first
    # assignment is made before the subscribed topic's metadata arrives,
    # the metadata's arrival triggers a rejoin; the leader records its
    # assignment snapshot before SyncGroup returns, so if that rejoin is
    # not completed within one poll() (its timeout expires, or the
    # connection drops) need_rejoin() turns False and the member stays
    # with no partitions and no heartbeats forever. topics() fetches the
    # metadata now, after subscribe() and before the first join.
    if not args.no_prefetch:
        consumer.topics()
    emit(ev="started")
    while not stop.is_set():
        for tp, records in consumer.poll(timeout_ms=100).items():
            for record in records:
                emit(ev="p", p=tp.partition, o=record.offset, v=record.value.decode())
                try:
                    consumer.commit({TopicPartition(tp.topic, tp.partition):
                                     OffsetAndMetadata(record.offset + 1, "", -1)})
                except Exception as exc:  # report it: the test decides
                    emit(ev="cf", p=tp.partition, o=record.offset, err=repr(exc))
                else:
                    emit(ev="c", p=tp.partition, o=record.offset)
    consumer.close()
    emit(ev="closed")


def run_confluent(args, stop):
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

    RETRIABLE = {KafkaError.REBALANCE_IN_PROGRESS, KafkaError.ILLEGAL_GENERATION}

    config = {
        "bootstrap.servers": args.bootstrap, "group.id": args.group, "client.id": args.client_id,
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "session.timeout.ms": args.session_ms, "heartbeat.interval.ms": args.heartbeat_ms,
        "fetch.wait.max.ms": 100, "socket.timeout.ms": 5000,
    }
    if args.assignor:
        config["partition.assignment.strategy"] = args.assignor
    if args.instance_id:
        config["group.instance.id"] = args.instance_id
    consumer = Consumer(config)
    owned = set()

    # confluent-kafka calls (incremental_)assign/unassign itself after these
    # callbacks return when the callback did not.
    def on_assign(c, partitions):
        owned.update(tp.partition for tp in partitions)
        emit(ev="assignment", parts=sorted(owned))

    def on_revoke(c, partitions):
        owned.difference_update(tp.partition for tp in partitions)
        emit(ev="assignment", parts=sorted(owned))

    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
    emit(ev="started")
    while not stop.is_set():
        msg = consumer.poll(0.1)
        if msg is None:
            continue
        if msg.error():
            emit(ev="error", err=str(msg.error()))
            continue
        emit(ev="p", p=msg.partition(), o=msg.offset(), v=msg.value().decode())
        offsets = [TopicPartition(msg.topic(), msg.partition(), msg.offset() + 1)]
        # With cooperative rebalancing the member keeps its other partitions
        # and processes them while the group rebalances; a commit sent then
        # gets REBALANCE_IN_PROGRESS (group completing the rebalance) or
        # ILLEGAL_GENERATION (sent with the generation being replaced), as
        # from Kafka. librdkafka finishes the join in its own thread, and a
        # partition is handed to another member only after this one revokes
        # it in poll(), so retrying for a while before polling again is safe.
        deadline = time.monotonic() + 5
        while True:
            try:
                result = consumer.commit(offsets=offsets, asynchronous=False)
                errors = [tp.error for tp in result if tp.error is not None]
                if errors:
                    raise KafkaException(errors[0])
            except KafkaException as exc:
                code = exc.args[0].code() if exc.args and hasattr(exc.args[0], "code") else None
                if code in RETRIABLE and time.monotonic() < deadline:
                    emit(ev="cr", p=msg.partition(), o=msg.offset(), err=str(exc))
                    time.sleep(0.05)
                    continue
                emit(ev="cf", p=msg.partition(), o=msg.offset(), err=str(exc))
            else:
                emit(ev="c", p=msg.partition(), o=msg.offset())
            break
    consumer.close()
    emit(ev="closed")


def run_aiokafka(args, stop):
    import asyncio

    from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
    from aiokafka.coordinator.assignors.range import RangePartitionAssignor
    from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

    assignors = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}

    async def main():
        config = dict(
            bootstrap_servers=args.bootstrap, group_id=args.group, client_id=args.client_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            session_timeout_ms=args.session_ms, heartbeat_interval_ms=args.heartbeat_ms,
            fetch_max_wait_ms=100, request_timeout_ms=5000, retry_backoff_ms=50,
        )
        if args.assignor:
            config["partition_assignment_strategy"] = tuple(assignors[a] for a in args.assignor.split(","))
        if args.instance_id:
            config["group_instance_id"] = args.instance_id
        consumer = AIOKafkaConsumer(**config)
        await consumer.start()
        # The group coordinator runs in its own task: a rebalance can revoke
        # partitions while a message is being processed. Processing and
        # committing one message happen under this lock, and the revoke
        # callback takes it too, so a revoke waits for the commit in flight
        # (aiokafka's documented pattern for manual commits).
        lock = asyncio.Lock()
        owned = set()
        revokes = [0]  # how many revokes so far

        class Listener(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked):
                async with lock:
                    revokes[0] += 1
                    owned.difference_update(tp.partition for tp in revoked)
                    emit(ev="assignment", parts=sorted(owned))

            async def on_partitions_assigned(self, assigned):
                owned.update(tp.partition for tp in assigned)
                emit(ev="assignment", parts=sorted(owned))

        consumer.subscribe([args.topic], listener=Listener())
        emit(ev="started")
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=100)
                fetched_at = revokes[0]
                for tp, records in batches.items():
                    for record in records:
                        async with lock:
                            # Fetched before a revoke: whoever owns the
                            # partition now reads it from its committed offset.
                            if revokes[0] != fetched_at:
                                break
                            emit(ev="p", p=tp.partition, o=record.offset, v=record.value.decode())
                            try:
                                await consumer.commit({TopicPartition(tp.topic, tp.partition): record.offset + 1})
                            except Exception as exc:
                                emit(ev="cf", p=tp.partition, o=record.offset, err=repr(exc))
                            else:
                                emit(ev="c", p=tp.partition, o=record.offset)
        finally:
            await consumer.stop()
        emit(ev="closed")

    asyncio.run(main())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("client", choices=["kafka-python", "confluent", "aiokafka"])
    parser.add_argument("bootstrap")
    parser.add_argument("group")
    parser.add_argument("topic")
    parser.add_argument("--client-id", default="compat-groups")
    parser.add_argument("--assignor", default=None, help="comma-separated assignor names")
    parser.add_argument("--instance-id", default=None)
    parser.add_argument("--session-ms", type=int, default=6000)
    parser.add_argument("--heartbeat-ms", type=int, default=1000)
    parser.add_argument("--no-prefetch", action="store_true",
                        help="kafka-python: subscribe without fetching the topic's metadata first")
    args = parser.parse_args()
    if os.environ.get("KGW_COMPAT_DEBUG"):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = stdin_stop_event()
    {"kafka-python": run_kafka_python, "confluent": run_confluent,
     "aiokafka": run_aiokafka}[args.client](args, stop)


if __name__ == "__main__":
    main()
