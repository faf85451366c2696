"""What of a partition is written but not yet fsynced, and the job that fsyncs it.

A partition records here every segment it writes to and every change of
its directory's entries; `begin` captures them into a `FlushJob` on the
event loop's thread, `FlushJob.run` does the fsyncs on a worker thread
(touching nothing but the files it names), and `end` moves the recovery
point once they are done.  The fsync policy, and who waits for what, is
`durability`'s.

A job names its files and opens them only when it runs: jobs waiting for
a worker thread (one per partition that an acks=all Produce wrote to)
hold no descriptor, so their number does not count against the process's
limit.  fsync through any descriptor of a file makes all its written data
durable, whoever wrote it.
"""

import errno
import os
from pathlib import Path
from typing import Iterable

from protocol.error_codes import ErrorCode

from .errors import LogError
from .segment import Segment


class FlushNotRun(Exception):
    """A file of the job could not be opened (say, the process was out of
    descriptors): nothing was found lost, the data is simply not durable yet."""


class FlushJob:
    """What one fsync round of a partition covers, captured on the loop's thread."""

    def __init__(self, end_offset: int, segments: list[Segment], segment_files: list[Path],
                 other_files: list[Path], directory: Path | None):
        self.end_offset = end_offset
        self.segments = segments
        self.segment_files = segment_files
        # Files renamed into the directory since the last round (snapshots).
        self.other_files = other_files
        self.directory = directory

    def run(self) -> None:
        """The fsyncs themselves; safe on any thread.

        A file gone since it was written (retention, a topic deletion)
        needs no fsync.  Raises FlushNotRun if a file cannot be opened,
        OSError if an fsync fails (or the directory is gone).
        """
        for path in self.segment_files + self.other_files:
            fd = _open(path, os.O_RDONLY)
            if fd is None:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if self.directory is not None:
            fd = _open(self.directory, os.O_RDONLY | os.O_DIRECTORY, missing_ok=False)
            assert fd is not None
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _open(path: Path, flags: int, *, missing_ok: bool = True) -> int | None:
    try:
        return os.open(path, flags | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            if missing_ok:
                return None
            raise
        raise FlushNotRun(f"cannot open {path} to fsync it: {exc}") from exc


class Unflushed:
    """One partition's writes since its last fsync round."""

    def __init__(self, directory: Path, recovery_point: int, segments: Iterable[Segment] = (),
                 directory_changed: bool = False):
        self.directory = directory
        # Every offset below this is on disk (fsynced), and so are the indexes
        # of the segments wholly below it (Kafka's recovery point).
        self.recovery_point = recovery_point
        self.segments: list[Segment] = list(segments)
        # Other files written in place without an fsync (producer snapshots).
        self.paths: list[Path] = []
        # Whether the directory has entries (new or unlinked files) not yet fsynced.
        self.directory_changed = directory_changed

    def wrote(self, segment: Segment) -> None:
        if segment not in self.segments:
            self.segments.append(segment)

    def wrote_file(self, path: Path) -> None:
        """A file renamed into the directory, to be fsynced with the next round."""
        self.paths.append(path)
        self.directory_changed = True

    def forget(self, segment: Segment) -> None:
        """A deleted segment needs no fsync."""
        if segment in self.segments:
            self.segments.remove(segment)

    def any(self, log_end_offset: int) -> bool:
        return bool(self.segments) or self.directory_changed or self.recovery_point < log_end_offset

    def any_closed(self, active: Segment) -> bool:
        """Rolled segments or directory entries not yet fsynced (Kafka flushes those on roll)."""
        return self.directory_changed or any(s is not active for s in self.segments)

    def begin(self, active: Segment, log_end_offset: int, active_indexes: bool) -> FlushJob:
        """The job covering everything so far; the active segment's indexes
        only when asked for (recovery rebuilds them after an unclean stop,
        so fsyncing them would only double the cost of every acks=all
        round), closed segments' always (a restart trusts them)."""
        paths = []
        try:
            for segment in self.segments:
                paths.append(segment.path)
                if segment is not active or active_indexes:
                    paths.extend(segment.index_files_for_flush())
        except OSError as exc:
            raise LogError(ErrorCode.KAFKA_STORAGE_ERROR,
                           f"cannot write the indexes of {self.directory}: {exc}") from exc
        job = FlushJob(log_end_offset, self.segments, paths, self.paths,
                       self.directory if self.directory_changed else None)
        self.segments = []
        self.paths = []
        self.directory_changed = False
        return job

    def end(self, job: FlushJob, active: Segment | None) -> None:
        self.recovery_point = max(self.recovery_point, job.end_offset)
        for segment in job.segments:
            if segment is not active:
                # A closed segment is not written again: its index files
                # need no descriptor any more.
                segment.release_index_files()

    def put_back(self, job: FlushJob) -> None:
        """A job that did not run: what it covered is still to be flushed."""
        for segment in job.segments:
            self.wrote(segment)
        self.paths.extend(p for p in job.other_files if p not in self.paths)
        self.directory_changed |= job.directory is not None
