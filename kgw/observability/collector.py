"""The Prometheus metrics, made at scrape time from the broker's counts and state.

Log sizes and consumer-group lag are read from the log and the group
coordinator when Prometheus asks, so keeping them costs nothing between
scrapes. Lag follows Kafka's kafka-consumer-groups tool: the partition's
high watermark minus the group's committed offset (negative if a client
committed past the end).
"""

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from protocol.messages import APIS

from .metrics import LATENCY_BUCKETS
from .response_errors import error_name

_BUCKET_LABELS = [floatToGoString(bound) for bound in LATENCY_BUCKETS] + ["+Inf"]


def metrics_registry(broker) -> CollectorRegistry:
    """A registry of the broker's own (several brokers in one process do not mix)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BrokerCollector(broker))
    ProcessCollector(registry=registry)
    return registry


class BrokerCollector:
    def __init__(self, broker):
        self.broker = broker

    def collect(self):
        yield from self._requests()
        yield from self._topics()
        yield from self._connections()
        yield from self._partitions()
        yield from self._groups()

    def _requests(self):
        requests = CounterMetricFamily("kgw_requests", "Requests handled, by API.", labels=["api"])
        errors = CounterMetricFamily(
            "kgw_request_errors", "Error codes in responses (each partition, group... counts once), "
            "and requests whose handler failed (UNKNOWN_SERVER_ERROR), by API.",
            labels=["api", "error"])
        latency = HistogramMetricFamily(
            "kgw_request_duration_seconds",
            "Time from a request's arrival to its response written, by API.", labels=["api"])
        for api_key, stats in sorted(self.broker.metrics.apis.items()):
            api = APIS[api_key].name
            requests.add_metric([api], stats.requests)
            for code, count in sorted(stats.errors.items()):
                errors.add_metric([api, error_name(code)], count)
            cumulative, buckets = 0, []
            for label, count in zip(_BUCKET_LABELS, stats.buckets):
                cumulative += count
                buckets.append((label, cumulative))
            latency.add_metric([api], buckets, stats.seconds)
        return requests, errors, latency

    def _topics(self):
        families = {
            field: CounterMetricFamily(f"kgw_topic_{field}", doc, labels=["topic"])
            for field, doc in (
                ("bytes_in", "Record batch bytes appended by Produce."),
                ("messages_in", "Records appended by Produce."),
                ("bytes_out", "Record batch bytes sent by Fetch."),
                ("messages_out", "Records sent by Fetch (whole batches, as Kafka sends them)."))
        }
        for topic, stats in sorted(self.broker.metrics.topics.items()):
            for field, family in families.items():
                family.add_metric([topic], getattr(stats, field))
        return families.values()

    def _connections(self):
        metrics = self.broker.metrics
        yield GaugeMetricFamily("kgw_connections_open", "Client connections open now.",
                                value=metrics.open_connections)
        yield CounterMetricFamily("kgw_connections_accepted", "Client connections accepted.",
                                  value=metrics.accepted_connections)

    def _partitions(self):
        labels = ["topic", "partition"]
        size = GaugeMetricFamily("kgw_partition_log_size_bytes",
                                 "Bytes in the partition's segment files.", labels=labels)
        start = GaugeMetricFamily("kgw_partition_log_start_offset",
                                  "The partition's first offset.", labels=labels)
        end = GaugeMetricFamily("kgw_partition_high_watermark",
                                "The partition's high watermark (its log end offset).", labels=labels)
        for partition in self.broker.log.partitions():
            key = [partition.topic.name, str(partition.index)]
            size.add_metric(key, partition.size_bytes)
            start.add_metric(key, partition.log_start_offset)
            end.add_metric(key, partition.high_watermark)
        return size, start, end

    def _groups(self):
        labels = ["group", "topic", "partition"]
        committed = GaugeMetricFamily("kgw_consumer_group_committed_offset",
                                      "The group's committed offset.", labels=labels)
        lag = GaugeMetricFamily("kgw_consumer_group_lag",
                                "High watermark minus the group's committed offset.", labels=labels)
        log = self.broker.log
        for group_id, group in sorted(self.broker.groups.groups.items()):
            for (topic, index), offset in sorted(group.offsets.items()):
                partition = log.partition(topic, index)
                if partition is None:
                    continue
                key = [group_id, topic, str(index)]
                committed.add_metric(key, offset.offset)
                lag.add_metric(key, partition.high_watermark - offset.offset)
        return committed, lag
