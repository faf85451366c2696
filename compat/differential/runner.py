"""Running one scenario against one broker: its connections, its saved
values, and what each step got back."""

import socket
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from protocol.connection import CLOSED, NEED_DATA, ClientConnection

from .normalise import Normaliser
from .scenario import Context, Scenario, Step, message, resolve, uses_refs

# What a step got instead of an answer.
CLOSED_CONNECTION = "<connection closed>"
NO_ANSWER = "<no answer>"
UNANSWERED = "<not answered: acks=0>"

ANSWER_TIMEOUT_S = 30
UNTIL_ATTEMPTS = 100
UNTIL_PAUSE_S = 0.1


@dataclass
class Outcome:
    """What one step got from one broker, normalised; `request` is the
    frame it sent, without its correlation id (None for a collect)."""

    label: str
    api_key: int
    value: Any
    request: bytes | None


class _Connection:
    def __init__(self, bootstrap: str, client_id: str):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=ANSWER_TIMEOUT_S)
        self.codec = ClientConnection(client_id)
        self.closed = False
        # Deferred steps awaiting their answers, oldest first.
        self.deferred: deque[Step] = deque()

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    def answer(self, timeout: float | None = None):
        """The next response (its decoded Response), CLOSED_CONNECTION or NO_ANSWER."""
        self.sock.settimeout(timeout or ANSWER_TIMEOUT_S)
        while True:
            if self.closed:
                return CLOSED_CONNECTION
            response = self.codec.next_response()
            if response is CLOSED:
                self.closed = True
                continue
            if response is not NEED_DATA:
                return response
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                return NO_ANSWER
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                continue
            self.codec.receive_data(chunk)

    def close(self) -> None:
        self.sock.close()


class Side:
    """One broker under comparison."""

    def __init__(self, name: str, bootstrap: str, data_dir: str | None = None):
        self.name = name
        self.bootstrap = bootstrap
        self.port = int(bootstrap.rsplit(":", 1)[1])
        self.data_dir = data_dir

    def run(self, scenario: Scenario) -> list[Outcome]:
        ctx = Context(scenario.name)
        normalise = Normaliser(self.port, scenario.name, self.data_dir)
        connections: dict[str, _Connection] = {}
        outcomes = []
        try:
            for s in scenario.steps:
                conn = connections.get(s.conn)
                if conn is None or (conn.closed and not conn.deferred):
                    if conn is not None:
                        conn.close()
                    conn = connections[s.conn] = _Connection(self.bootstrap, s.conn)
                outcome = self._step(s, conn, ctx, normalise)
                if outcome is not None and s.check:
                    outcomes.append(outcome)
        finally:
            for conn in connections.values():
                conn.close()
        return outcomes

    def _step(self, s: Step, conn: _Connection, ctx: Context, normalise: Normaliser) -> Outcome | None:
        if s.collect:
            deferred = conn.deferred.popleft()
            return self._outcome(deferred, conn.answer(deferred.timeout), None, ctx, normalise,
                                 label=f"{deferred.label}, deferred")
        for _ in range(UNTIL_ATTEMPTS if s.until else 1):
            expects_answer, frame = self._send(s, conn, ctx)
            if s.defer:
                conn.deferred.append(s)
                return None
            answer = conn.answer(s.timeout) if expects_answer else UNANSWERED
            if s.until is None or (not isinstance(answer, str) and s.until(answer.body)):
                break
            time.sleep(UNTIL_PAUSE_S)
        return self._outcome(s, answer, frame, ctx, normalise)

    def _send(self, s: Step, conn: _Connection, ctx: Context) -> tuple[bool, bytes | None]:
        if s.raw is not None:
            api_key, payload, answer_as = s.raw
            _, frame = conn.codec.send_raw(api_key, s.version, payload, answer_as)
            expects_answer = answer_as is not None
        else:
            assert s.api is not None
            body = message(s.api.request, resolve(s.fields, ctx))
            _, frame = conn.codec.send_request(s.api.key, s.version, body)
            expects_answer = not (s.api.name == "Produce" and body.acks == 0)
        conn.send(frame)
        if uses_refs(s.fields):
            return expects_answer, None
        # The correlation id (bytes 8-11) is the only part of a frame that
        # may differ between the brokers without the scenario saying so.
        return expects_answer, frame[:8] + frame[12:]

    def _outcome(self, s: Step, answer, frame: bytes | None, ctx: Context, normalise: Normaliser,
                 label: str | None = None) -> Outcome:
        api_key = s.raw[0] if s.raw is not None else s.api.key  # type: ignore[union-attr]
        if isinstance(answer, str):
            return Outcome(label or s.label, api_key, answer, frame)
        for key, pick in s.save.items():
            ctx.saved[key] = pick(answer.body)
        return Outcome(label or s.label, api_key, normalise(answer.api_key, answer.body), frame)
