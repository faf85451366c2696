"""The word-count input: deterministic lines over a small vocabulary, and
the counts Kafka Streams must arrive at."""

from collections import Counter

VOCABULARY = ["kafka", "stream", "broker", "log", "offset", "group", "topic", "record", "commit", "fetch",
              "produce", "batch", "marker", "epoch"]


def lines(first: int, count: int) -> list[str]:
    return [" ".join(VOCABULARY[(i * 7 + j * 3 + i // 5) % len(VOCABULARY)] for j in range(1 + i % 6))
            for i in range(first, first + count)]


def counts(text_lines) -> dict[str, str]:
    """What the word count's output table must hold, as streams_read reports it."""
    return {word: str(n) for word, n in Counter(w for line in text_lines for w in line.split()).items()}
