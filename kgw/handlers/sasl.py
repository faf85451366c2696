"""SaslHandshake 0-1 and SaslAuthenticate 0-2 once they come too late.

Before authentication the server hands these to the connection's
`kgw.sasl.Authenticator`; a request that reaches a handler came after it
(or to a broker without SASL), which Kafka answers with ILLEGAL_SASL_STATE.
"""

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import SASL_AUTHENTICATE, SASL_HANDSHAKE

from ..broker import Broker
from ..sasl import MECHANISMS
from . import RequestContext, handles


@handles(SASL_HANDSHAKE)
async def sasl_handshake(broker: Broker, request: Request, context: RequestContext):
    enabled = list(MECHANISMS) if broker.config.sasl_users else []
    return SASL_HANDSHAKE.Response(error_code=ErrorCode.ILLEGAL_SASL_STATE, mechanisms=enabled)


@handles(SASL_AUTHENTICATE)
async def sasl_authenticate(broker: Broker, request: Request, context: RequestContext):
    return SASL_AUTHENTICATE.Response(
        error_code=ErrorCode.ILLEGAL_SASL_STATE, auth_bytes=b"",
        error_message="SaslAuthenticate request received after successful authentication"
        if broker.config.sasl_users else "SASL is not enabled on this listener")
