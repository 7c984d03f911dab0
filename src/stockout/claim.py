"""Claiming a results folder: one run at a time, and a run cleans up only what it made.

A run claims its output folder when it starts, before the simulation: it opens the marker file
``.stockout-claim`` in the folder and takes an exclusive lock on it (``flock``), then writes its
process id, host and start time into it. The kernel drops the lock when the process ends, however
it ends (``kill -9`` included), so a claim left behind by a dead run is seen as stale, never as a
live run. A second run that finds the lock held stops with exit 2 naming the run that holds it.

A claimed folder must otherwise be empty, so files of two runs never meet in one folder. When
the run ends, the claim is released (the marker removed): after ``manifest.json`` is written
when it succeeded; after removing what the run itself made (its files, and the folder if it made
it) when it failed before writing anything.
"""

from __future__ import annotations

import errno
import json
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["CLAIM_FILE", "CannotCreate", "Claim", "FolderInUse", "claim_folder", "holder_of"]

CLAIM_FILE = ".stockout-claim"


class FolderInUse(ValueError):
    """Another live run holds the folder's claim."""


class CannotCreate(OSError):
    """The folder to claim cannot be made."""


@dataclass
class Claim:
    """This process's claim on ``folder``; ``made_folder`` if the claim created it."""

    folder: Path
    made_folder: bool
    _fd: int | None = field(default=None, repr=False)
    #: whether this claim made the marker (else it took over a dead run's)
    made_marker: bool = True
    written: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Remove the marker and drop the lock (the folder and its files stay)."""
        if self._fd is None:
            return
        try:
            if self.made_marker or self.written:  # a dead run's marker stays as it was found
                (self.folder / CLAIM_FILE).unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            os.close(self._fd)
            self._fd = None

    def abandon(self) -> None:
        """The run failed: remove what it wrote and, if it made the folder and nothing else is
        in it, the folder; then release. Nothing of another run is ever touched."""
        if self._fd is None:
            return
        for name in self.written:
            try:
                (self.folder / name).unlink(missing_ok=True)
            except OSError:
                pass
        self.release()
        if self.made_folder:
            try:
                self.folder.rmdir()  # only an empty folder goes
            except OSError:
                pass

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _describe(info: dict[str, Any]) -> str:
    pid, host, started = info.get("pid", "?"), info.get("host", "?"), info.get("started", "?")
    return f"pid {pid} on {host}, started {started}"


def holder_of(folder: Path) -> dict[str, Any] | None:
    """What the claim of a live run on ``folder`` says about it, or None if no live run holds
    it (no marker, or a stale one)."""
    import fcntl

    try:
        fd = os.open(folder / CLAIM_FILE, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_info(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_info(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _open_marker(marker: Path) -> tuple[int, bool]:
    """An fd of the marker, and whether this call created it (``O_EXCL``)."""
    try:
        return os.open(marker, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644), True
    except FileExistsError:
        return os.open(marker, os.O_RDWR | os.O_NOFOLLOW), False


def _lock(folder: Path) -> tuple[int, bool]:
    """An fd of ``folder``'s marker with its exclusive lock held (retrying if the marker was
    replaced meanwhile), and whether it was made here; :class:`FolderInUse` if a live run holds
    it."""
    import fcntl

    marker = folder / CLAIM_FILE
    for _ in range(20):
        try:
            fd, made = _open_marker(marker)
        except FileNotFoundError:  # released between the two opens: try again
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = _read_info(fd)
            os.close(fd)
            raise FolderInUse(
                f"{folder}: in use by another run ({_describe(info)}); a run never writes into "
                "another's folder: choose another --out, or wait until that run has finished"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(marker).st_ino
        except FileNotFoundError:  # released by its run between our open and our lock
            same = False
        if same:
            return fd, made
        os.close(fd)
    raise FolderInUse(f"{folder}: its claim keeps changing hands; choose another --out")


def claim_folder(folder: Path, *, must_be_new: bool = False, resume: bool = False) -> Claim:
    """Claim ``folder`` (made with its parents if missing) for this run.

    Raises :class:`FolderInUse` if a live run holds it, ``FileExistsError`` if ``must_be_new``
    and it exists, ``NotADirectoryError`` if it is not a folder, ``OSError`` if it cannot be
    made, and ``FileExistsError`` (with the names found) if it holds anything but a stale claim
    (unless ``resume``: the run continues what the folder holds).
    """
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a folder", str(folder))
    made = False
    try:
        folder.mkdir(parents=not must_be_new)
        made = True
    except FileExistsError:
        if must_be_new:
            raise
    except OSError as error:  # a parent that is a file, no permission, a full disk
        raise CannotCreate(error.errno, error.strerror, str(folder)) from error
    fd, made_marker = _lock(folder)
    claim = Claim(folder, made, fd, made_marker=made_marker)
    try:
        stale = _read_info(fd)
        others = sorted(p.name for p in folder.iterdir() if p.name != CLAIM_FILE)
        if others and not resume:
            left = f" by a run that died ({_describe(stale)})" if stale else ""
            raise FileExistsError(errno.ENOTEMPTY, f"holds files{left}: {', '.join(others[:5])}",
                                  str(folder))
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": datetime.now().astimezone().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
    except BaseException:
        claim.abandon()
        raise
    return claim
