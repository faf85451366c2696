"""Writing a response: buffers through trio, record data with sendfile.

Record data of Fetch responses leaves through `os.sendfile` straight from
the segment files; everything else is small and goes through trio.
"""

import os

import trio

# Below this, a records part is cheaper to copy than to sendfile.
SENDFILE_MIN = 16 * 1024


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
