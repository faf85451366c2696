"""SASL authentication (KIP-43, KIP-152).

Facts (field names, types, versions) from Apache Kafka's message definitions;
names are snake_case, defaults are Kafka's.
"""

from ..schema import Api, Field, Array, BYTES, INT16, INT64, STRING

SASL_HANDSHAKE = Api(
    17, "SaslHandshake", "0-1", flexible=None,
    request=[
        Field("mechanism", STRING),
    ],
    response=[
        Field("error_code", INT16),
        Field("mechanisms", Array(STRING)),
    ],
)

SASL_AUTHENTICATE = Api(
    36, "SaslAuthenticate", "0-2", flexible="2+",
    request=[
        Field("auth_bytes", BYTES),
    ],
    response=[
        Field("error_code", INT16),
        Field("error_message", STRING, nullable="0+"),
        Field("auth_bytes", BYTES),
        Field("session_lifetime_ms", INT64, "1+", default=0),
    ],
)
