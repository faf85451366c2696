"""Encoding and writing a response: buffers through trio, record data with sendfile.

Record data of Fetch responses leaves through `os.sendfile` straight from
the segment files; everything else goes through trio.  A response listing
thousands of topics or partitions (a CreateTopics of 5,000 topics takes
0.6 s to encode, configs included) is encoded on a worker thread, so that
other clients are not kept waiting meanwhile.
"""

import os

import trio

from protocol.connection import Request, encode_response

# Below this, a records part is cheaper to copy than to sendfile.
SENDFILE_MIN = 16 * 1024
# Topics and partitions listed from which a response is encoded off the loop.
LARGE_RESPONSE_ITEMS = 1_000


async def encode(request: Request, body) -> list:
    """The response frame's parts (see `encode_response`)."""
    if _listed(body) >= LARGE_RESPONSE_ITEMS:
        return await trio.to_thread.run_sync(_encode_joined, request, body)
    return encode_response(request, body)


def _encode_joined(request: Request, body) -> list:
    """The parts, with each run of buffers joined into one: a large response
    is hundreds of thousands of small buffers, too many to walk on the loop."""
    joined: list = []
    run: list = []
    for part in encode_response(request, body):
        if getattr(part, "ranges", None) is None:
            run.append(part)
            continue
        if run:
            joined.append(b"".join(run))
            run = []
        joined.append(part)
    if run:
        joined.append(b"".join(run))
    return joined


def _listed(body) -> int:
    """How many topics, and partitions of them, a response lists: a cheap
    measure of its size, for the responses that can grow large."""
    topics = getattr(body, "topics", None) or getattr(body, "responses", None)
    if not isinstance(topics, list):
        return 0
    return len(topics) + sum(len(getattr(t, "partitions", None) or ()) for t in topics)


async def send_response(stream, parts) -> None:
    """Write a response: buffers through trio, file ranges with sendfile."""
    pending: list = []
    for part in parts:
        ranges = getattr(part, "ranges", None)
        if ranges is None:
            pending.append(part)
            continue
        if len(part) < SENDFILE_MIN:
            pending.append(part.read_bytes())
            continue
        if pending:
            await stream.send_all(b"".join(pending))
            pending = []
        for file_range in ranges:
            await _sendfile(stream.socket, file_range.file.fd, file_range.position, file_range.length)
    if pending:
        await stream.send_all(b"".join(pending))


async def _sendfile(sock, fd: int, offset: int, count: int) -> None:
    out = sock.fileno()
    while count:
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            sent = os.sendfile(out, fd, offset, count)
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)
            continue
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise trio.BrokenResourceError(str(exc)) from exc
        if sent == 0:
            # The segment is shorter than the range promised: the frame
            # cannot be completed, so the connection must go.
            raise trio.BrokenResourceError("segment file ended before the records did")
        offset += sent
        count -= sent
