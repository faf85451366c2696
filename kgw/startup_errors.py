"""Why a broker could not start, in terms of the setting to change.

`kgw serve` turns a `StartupError` into one line naming the option and the
variable of its `setting` (`--port`, KGW_PORT); the embedded broker raises
it as it is.
"""

import errno
import os
import socket
from pathlib import Path


class StartupError(Exception):
    """`message` says what failed without errno numbers; `setting` is the
    BrokerConfig field to change."""

    def __init__(self, message: str, setting: str):
        super().__init__(message)
        self.message = message
        self.setting = setting


def listen_error(exc: OSError, what: str, host: str, port: int, port_setting: str) -> StartupError:
    """A listener (`what`: "listen", "serve metrics") that could not bind."""
    where = f"cannot {what} on {host}:{port}"
    if isinstance(exc, socket.gaierror):
        return StartupError(f"{where}: unknown host {host!r}", "host")
    if exc.errno == errno.EADDRINUSE:
        return StartupError(f"{where}: the port is in use", port_setting)
    if exc.errno == errno.EADDRNOTAVAIL:
        return StartupError(f"{where}: {host} is not an address of this machine", "host")
    if exc.errno == errno.EACCES and 0 < port < 1024:
        return StartupError(f"{where}: ports below 1024 need privileges", port_setting)
    return StartupError(f"{where}: {_reason(exc)}", port_setting)


def data_dir_error(exc: OSError, data_dir: Path) -> StartupError:
    """The data directory could not be created, locked or read."""
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        file = next((p for p in (data_dir, *data_dir.parents) if p.exists() and not p.is_dir()), None)
        if file is not None:
            what = "is a file" if file == data_dir else f"is under {file}, which is a file"
            return StartupError(f"data dir {data_dir} {what}, not a directory", "data_dir")
    detail = f" ({exc.filename})" if exc.filename and Path(exc.filename) != data_dir else ""
    return StartupError(f"cannot open data dir {data_dir}: {_reason(exc)}{detail}", "data_dir")


def data_dir_locked(data_dir: Path, holder: str) -> StartupError:
    """Another broker holds the data directory's lock; `holder` is what it
    wrote in the lock file (its PID)."""
    pid = holder.strip()
    if pid.isdigit():
        mine = ", this process" if int(pid) == os.getpid() else ""
        return StartupError(f"data dir {data_dir} is in use by another kgw (PID {pid}{mine})",
                            "data_dir")
    return StartupError(f"data dir {data_dir} is in use by another process", "data_dir")


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc) or type(exc).__name__).lower()
