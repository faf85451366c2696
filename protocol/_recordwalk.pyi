"""The C walk of protocol.record_walk (protocol/_recordwalk.c)."""


def feed(state: object, data: object) -> None: ...
