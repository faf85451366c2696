"""ApiVersions 0-4: built from the handlers that serve the listener, so it cannot drift."""

import re

from protocol.connection import Request
from protocol.error_codes import ErrorCode
from protocol.messages import API_VERSIONS

from ..broker import Broker
from . import RequestContext, handles

Response = API_VERSIONS.Response

# What Kafka accepts as a client's software name and version (KIP-511,
# ApiVersionsRequest.isValid): letters, digits, '-' and '.', starting and
# ending with a letter or digit.
SOFTWARE_NAME_OR_VERSION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?")
FIRST_WITH_SOFTWARE_NAME = 3


@handles(API_VERSIONS)
async def api_versions(broker: Broker, request: Request, context: RequestContext):
    if not request.version_supported:
        # KIP-511: a newer client learns our ApiVersions range, then retries.
        own = context.served[API_VERSIONS.key]
        return Response(error_code=ErrorCode.UNSUPPORTED_VERSION, api_keys=[
            Response.ApiVersion(api_key=API_VERSIONS.key, min_version=own.min_version,
                                max_version=own.max_version)])
    body = request.body
    if request.api_version >= FIRST_WITH_SOFTWARE_NAME and not (
            SOFTWARE_NAME_OR_VERSION.fullmatch(body.client_software_name)
            and SOFTWARE_NAME_OR_VERSION.fullmatch(body.client_software_version)):
        # Kafka answers INVALID_REQUEST and lists no API at all.
        return Response(error_code=ErrorCode.INVALID_REQUEST, api_keys=[])
    return Response(error_code=ErrorCode.NONE, api_keys=[
        Response.ApiVersion(api_key=key, min_version=h.min_version, max_version=h.max_version)
        for key, h in sorted(context.served.items())])
