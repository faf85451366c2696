"""Descriptors of a broker serving many partitions: bounded by --max-open-files."""

import gc
import os

import pytest

from kgw.broker import Broker
from kgw.config import BrokerConfig
from kgw.handlers import RequestContext, fetch
from kgw.log import FileRecords
from protocol.connection import Request
from protocol.messages import FETCH

from .test_server import records

pytestmark = pytest.mark.trio

PARTITIONS = 300
CACHE = 16


def open_descriptors() -> int:
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


def fetch_all(topic: str, partitions: int):
    Topic = FETCH.Request.FetchTopic
    return FETCH.Request(replica_id=-1, max_wait_ms=0, min_bytes=1, max_bytes=50 << 20,
                         isolation_level=0, topics=[Topic(topic=topic, partitions=[
                             Topic.FetchPartition(partition=i, fetch_offset=0,
                                                  partition_max_bytes=1 << 20)
                             for i in range(partitions)])])


async def test_a_fetch_of_many_small_partitions_holds_no_descriptor_of_its_own(tmp_path):
    broker = Broker(BrokerConfig(data_dir=tmp_path, max_open_files=CACHE, flush="never"))
    broker.open()
    try:
        before = open_descriptors()
        topic = broker.log.create_topic("wide", PARTITIONS)
        big = broker.log.create_topic("big", 1).partitions[0]
        for partition in topic.partitions:
            partition.append(records([b"v%d" % partition.index]))
        big.append(records([b"x" * 40_000]))
        body = await fetch.fetch(broker, Request(FETCH.key, 12, 1, "t", fetch_all("wide", PARTITIONS)),
                                 RequestContext("/127.0.0.1"))
        answered = body.responses[0].partitions
        assert [p.error_code for p in answered] == [0] * PARTITIONS
        assert all(isinstance(p.records, bytes) and b"v%d" % p.partition_index in p.records
                   for p in answered)
        # The response is held, unwritten: it holds nothing beyond the cache.
        assert open_descriptors() - before <= CACHE
        large = await fetch.fetch(broker, Request(FETCH.key, 12, 2, "t", fetch_all("big", 1)),
                                  RequestContext("/127.0.0.1"))
        sent = large.responses[0].partitions[0].records
        assert isinstance(sent, FileRecords) and b"x" * 40_000 in sent.read_bytes()
    finally:
        broker.close()
