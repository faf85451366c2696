"""SASL on a listener without it (both brokers run plaintext): what a
client that authenticates anyway, or too late, is told."""

from protocol.messages import SASL_AUTHENTICATE, SASL_HANDSHAKE

from ..scenario import scenario, step

SCENARIOS = [
    *[scenario(f"saslhandshake.v{v}.plaintext", step(SASL_HANDSHAKE, v, {"mechanism": "PLAIN"}))
      for v in range(0, 2)],
    scenario("saslhandshake.unknown-mechanism", step(SASL_HANDSHAKE, 1, {"mechanism": "GSSAPI"})),
    *[scenario(f"saslauthenticate.v{v}.plaintext", step(SASL_AUTHENTICATE, v, {"auth_bytes": b"\x00u\x00p"}))
      for v in range(0, 3)],
]
