"""CRC-32C (Castagnoli): the checksum of RecordBatch v2, and of kgw's own files.

`checksum.crc32c(data, value=0)` is the crc32c package's function, loaded on
the first use of the attribute rather than with this module: importing the
package also imports importlib.metadata and argparse (for its version string
and its command line), a good part of what `kgw serve` would otherwise
import before answering anything, and a clean start checksums nothing.
Once loaded, the attribute is the package's function itself.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name != "crc32c":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from crc32c import crc32c

    globals()["crc32c"] = crc32c
    return crc32c
