"""kgw: a Kafka-wire-compatible broker."""

__all__ = ["EmbeddedBroker"]


def __getattr__(name):
    # `import kgw` stays cheap (the CLI and the pytest plugin import it):
    # trio and the broker load only when the embedding API is first used.
    if name == "EmbeddedBroker":
        from .embedded import EmbeddedBroker
        return EmbeddedBroker
    raise AttributeError(f"module 'kgw' has no attribute {name!r}")
