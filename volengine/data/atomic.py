"""Atomic file writes shared by every writer outside the Store: temp file in the same directory, fsync,
``os.replace``. A reader sees the old file or the new one, never half of one; a failure leaves no trace."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import polars as pl


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(fh)`` on a temp file beside ``path``, fsync it and rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:  # the rename itself survives a crash only once the directory entry is on disk
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_bytes_atomic(data: bytes, path: Path) -> None:
    """Write ``data`` to ``path`` atomically (creating parent directories)."""
    write_atomic(path, lambda fh: fh.write(data))


def write_parquet_atomic(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` as Parquet atomically (creating parent directories)."""
    write_atomic(path, frame.write_parquet)
