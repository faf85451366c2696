"""What the broker counts for its Prometheus endpoint.

Counts are plain Python numbers, updated on the trio thread by the server
and the handlers, and turned into Prometheus metrics only when scraped (see
`collector`), on that same thread: no locks, and a request costs a few
attribute and list updates. Without `--metrics-port` the broker holds
`NO_METRICS`, whose methods do nothing.
"""

from bisect import bisect_left
from collections import Counter

from protocol.error_codes import ErrorCode

from .response_errors import error_codes

# Upper bounds, in seconds, of the request latency buckets: from a Produce
# answered in a tenth of a millisecond to a JoinGroup held for a rebalance.
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                   0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ApiStats:
    __slots__ = ("requests", "seconds", "buckets", "errors")

    def __init__(self):
        self.requests = 0
        self.seconds = 0.0
        # Per bucket (not cumulative), and one more for above the last bound.
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.errors: Counter[int] = Counter()


class TopicStats:
    __slots__ = ("bytes_in", "messages_in", "bytes_out", "messages_out")

    def __init__(self):
        self.bytes_in = self.messages_in = self.bytes_out = self.messages_out = 0


class Metrics:
    def __init__(self):
        self.apis: dict[int, ApiStats] = {}
        self.topics: dict[str, TopicStats] = {}
        self.open_connections = 0
        self.accepted_connections = 0

    def connection_opened(self) -> None:
        self.open_connections += 1
        self.accepted_connections += 1

    def connection_closed(self) -> None:
        self.open_connections -= 1

    def request(self, api_key: int, body, seconds: float) -> None:
        """A request answered with `body` (None: no response) after `seconds`."""
        stats = self._api(api_key)
        stats.requests += 1
        stats.seconds += seconds
        stats.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        if body is not None:
            for code in error_codes(api_key, body):
                stats.errors[code] += 1

    def failed(self, api_key: int) -> None:
        """A request whose handler raised; Kafka's name for that is UNKNOWN_SERVER_ERROR."""
        stats = self._api(api_key)
        stats.requests += 1
        stats.errors[ErrorCode.UNKNOWN_SERVER_ERROR] += 1

    def produced(self, topic: str, size: int, messages: int) -> None:
        stats = self._topic(topic)
        stats.bytes_in += size
        stats.messages_in += messages

    def fetched(self, sent) -> None:
        """`sent`: (topic, bytes, messages) of each partition a Fetch answered with."""
        for topic, size, messages in sent:
            stats = self._topic(topic)
            stats.bytes_out += size
            stats.messages_out += messages

    def _api(self, api_key: int) -> ApiStats:
        stats = self.apis.get(api_key)
        if stats is None:
            stats = self.apis[api_key] = ApiStats()
        return stats

    def _topic(self, topic: str) -> TopicStats:
        stats = self.topics.get(topic)
        if stats is None:
            stats = self.topics[topic] = TopicStats()
        return stats


class NoMetrics:
    """The broker's metrics when no endpoint is asked for: nothing is counted."""

    def connection_opened(self) -> None:
        pass

    def connection_closed(self) -> None:
        pass

    def request(self, api_key: int, body, seconds: float) -> None:
        pass

    def failed(self, api_key: int) -> None:
        pass

    def produced(self, topic: str, size: int, messages: int) -> None:
        pass

    def fetched(self, sent) -> None:
        pass


NO_METRICS = NoMetrics()
