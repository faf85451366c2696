"""A broker that answers what a test scripts, for the answers a live kgw
never gives (Kafka's, while it creates a topic or loads its groups)."""

import socket
import threading

from protocol.connection import CLOSED, NEED_DATA, ServerConnection
from protocol.error_codes import ErrorCode
from protocol.messages import API_VERSIONS, APIS


class ScriptedBroker:
    """Listens on 127.0.0.1; answers ApiVersions with every version kgw
    declares and any other request with `answer(request)`, on every
    connection.  `asked` lists the API keys of the requests in order."""

    def __init__(self, answer):
        self.answer = answer
        self.asked: list[int] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.bootstrap = f"127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def __enter__(self) -> "ScriptedBroker":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        server = ServerConnection()
        with conn:
            while True:
                request = server.next_request()
                if request is CLOSED:
                    return
                if request is NEED_DATA:
                    data = conn.recv(65536)
                    server.receive_data(data)
                    continue
                self.asked.append(request.api_key)
                if request.api_key == API_VERSIONS.key:
                    body = API_VERSIONS.Response(error_code=ErrorCode.NONE, api_keys=[
                        API_VERSIONS.Response.ApiVersion(api_key=api.key, min_version=api.min_version,
                                                         max_version=api.max_version)
                        for api in APIS.values()])
                else:
                    body = self.answer(request)
                conn.sendall(server.send_response(request, body))
