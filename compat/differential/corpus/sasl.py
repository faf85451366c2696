"""SASL on a listener without it: both brokers run plaintext."""

from protocol.messages import SASL_AUTHENTICATE, SASL_HANDSHAKE

from ..scenario import scenario, step

SCENARIOS = [
    scenario("saslhandshake.v1.plaintext", step(SASL_HANDSHAKE, 1, {"mechanism": "PLAIN"})),
    scenario("saslauthenticate.v2.plaintext", step(SASL_AUTHENTICATE, 2, {"auth_bytes": b"\x00u\x00p"})),
]
