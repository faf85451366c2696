"""The parts of compat/reference/ (Apache Kafka as the reference broker)
that need no Kafka."""

import itertools
import uuid

from compat.reference import apache_kafka


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch):
    # Kafka's storage tool would read "-..." as an option and refuse to
    # format; Kafka's own Uuid.randomUuid draws again in that case.
    dashed = uuid.UUID(bytes=b"\xfb" + bytes(15))  # URL-safe base64 "-w..."
    plain = uuid.UUID(int=1)
    draws = itertools.chain([dashed, dashed], itertools.repeat(plain))
    monkeypatch.setattr(apache_kafka.uuid, "uuid4", lambda: next(draws))
    assert apache_kafka._cluster_id() == "AAAAAAAAAAAAAAAAAAAAAQ"
