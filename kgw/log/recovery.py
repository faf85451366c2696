"""Opening a partition directory at start-up, and recovering it after a crash.

After a clean shutdown the files are trusted: indexes are loaded as they
are (rebuilt if implausible) and only the end of the active segment is
checked for clean framing.  After an unclean one, every segment that may
hold data not yet fsynced, i.e. from the one holding the checkpointed
recovery point on, is re-validated batch by batch (framing, dense offsets,
CRC-32C) as Kafka's LogLoader does, cut at the first bad batch, and its
indexes rebuilt.  A cut inside an older segment would leave a gap in the
offsets, so the segments after it are deleted, loudly.
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .descriptors import DescriptorCache
from .files import read_metadata
from .segment import INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, Segment, parse_stem

log = logging.getLogger("kgw.log")

LOG_START_OFFSET_FILE = "log-start-offset"
LOG_START_OFFSET_FORMAT = 1


@dataclass
class LoadedLog:
    segments: list[Segment]
    # Segments whose bytes recovery rewrote or may not be on disk yet.
    unflushed: list[Segment]
    directory_changed: bool
    log_start_offset: int
    recovery_point: int


def load_directory(directory: Path, index_interval: int, now_ms: int, files: DescriptorCache, *,
                   clean: bool, recovery_point: int) -> LoadedLog:
    """The segments of `directory`, recovered as needed; OSError if it cannot be read."""
    bases: dict[int, Path] = {}
    for entry in os.scandir(directory):
        base = parse_stem(entry.name)
        if entry.name.endswith(".tmp"):
            os.unlink(entry.path)
        elif base is not None and entry.name.endswith(LOG_SUFFIX):
            bases[base] = Path(entry.path)
    for entry in os.scandir(directory):
        base = parse_stem(entry.name)
        if (base is not None and base not in bases
                and entry.name.endswith((INDEX_SUFFIX, TIME_INDEX_SUFFIX))):
            log.info("removing %s, an index without its segment", entry.path)
            os.unlink(entry.path)
    stored_start = _read_log_start_offset(directory)
    if bases:
        loaded = _load_segments([Segment.open(bases[b], now_ms, files) for b in sorted(bases)],
                                index_interval, clean, recovery_point)
    else:
        start = stored_start or 0
        if recovery_point > start:
            log.error("%s holds no segment although offsets up to %d were flushed; starting "
                      "empty at %d", directory, recovery_point, start)
        loaded = LoadedLog([Segment.create(directory, start, now_ms, files)], [], True, start, 0)
    end = loaded.segments[-1].next_offset
    loaded.log_start_offset = max(loaded.segments[0].base_offset, stored_start or 0)
    if loaded.log_start_offset > end:
        log.warning("%s: log start offset %d is past the log end %d; using %d",
                    directory, loaded.log_start_offset, end, end)
        loaded.log_start_offset = end
    loaded.recovery_point = end if clean else min(recovery_point, end)
    return loaded


def _load_segments(segments: list[Segment], index_interval: int, clean: bool,
                   recovery_point: int) -> LoadedLog:
    kept: list[Segment] = []
    unflushed: list[Segment] = []
    changed = False
    for i, segment in enumerate(segments):
        following = segments[i + 1] if i + 1 < len(segments) else None
        # Segments wholly below the recovery point were fsynced, indexes too.
        flushed = clean or (following is not None and following.base_offset <= recovery_point)
        if following is None:
            trusted = clean and segment.load_active(index_interval)
        else:
            trusted = flushed and segment.load_closed(following.base_offset)
        if not trusted:
            if flushed:
                log.warning("%s: indexes missing or damaged, or the data does not end cleanly; "
                            "recovering the segment", segment.path)
            segment.recover(index_interval)
            unflushed.append(segment)
        kept.append(segment)
        if following is not None and segment.next_offset != following.base_offset:
            dropped = segments[i + 1:]
            log.error("%s ends at offset %d but the next segment starts at %d: deleting the %d "
                      "later segment(s) %s to keep offsets dense", segment.path,
                      segment.next_offset, following.base_offset, len(dropped),
                      ", ".join(str(s.path) for s in dropped))
            for later in dropped:
                later.delete_files()
            changed = True
            break
    return LoadedLog(kept, unflushed, changed, 0, 0)


def _read_log_start_offset(directory: Path) -> int | None:
    path = directory / LOG_START_OFFSET_FILE
    try:
        meta = read_metadata(path, LOG_START_OFFSET_FORMAT)
        return None if meta is None else int(meta["log_start_offset"])
    except (ValueError, KeyError, TypeError) as exc:
        log.error("%s is unreadable (%s); the log start offset falls back to the first segment",
                  path, exc)
        return None
