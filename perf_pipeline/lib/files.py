"""File handling shared by every stage: hashes, atomic writes, paths kept inside the data root."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the settings import this module: loading the definitions does not need pandas
    import pandas as pd


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def combined_hash(parts: list[str]) -> str:
    """One version for a set of inputs (order-independent)."""
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()


PUBLISHED_MODE = 0o644


def write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the same folder, then rename it into place.

    A reader never sees a half-written report: either the old file or the new whole one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, PUBLISHED_MODE)  # mkstemp makes files private; reports are for reading
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def abandoned_temporary_files(folder: Path) -> list[Path]:
    """The temporary files `write_atomically` leaves when its process is killed mid-write.

    Only safe to remove when nothing is writing (the caller knows): each is a half-written copy,
    never the published file itself.
    """
    return sorted(p for p in folder.rglob(".*.tmp") if p.is_file()) if folder.is_dir() else []


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """A published CSV table: UTF-8, header row, no index, written atomically."""
    # CRLF line ends, as RFC 4180 has them: the writer then quotes text holding a bare carriage
    # return, which would otherwise end the row early for Excel (a commentary could forge a row).
    return write_atomically(
        path, lambda tmp: df.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\r\n")
    )


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_name(name: str) -> str:
    """A file name from free text (a service name, say) that cannot climb out of its folder."""
    cleaned = _UNSAFE.sub("_", name).strip("._")
    return cleaned or "unnamed"


def is_inside(path: Path, root: Path) -> bool:
    """Whether `path`, links resolved, lies inside `root` (false for a link that loops)."""
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, RuntimeError, OSError):
        return False
    return True


def link_problem(path: Path, root: Path) -> str | None:
    """Why an input file cannot be read as it stands (a link that loops or leads out of the data
    root, a folder, a missing target), in words for the person who put it there; None if it can."""
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except RuntimeError:
            return "it is a link that leads round in a loop, so there is no file to read"
        except OSError:
            return "it is a link to a file that does not exist"
        if not is_inside(path, root):
            return "it is a link to a file outside the data folder, which is never read"
    if not path.is_file():
        return "it is not a regular file"
    return None


def relative_to_root(path: Path, root: Path) -> str:
    """A path as the data root sees it, with forward slashes, for reports and provenance.

    A name that is not valid UTF-8 (written by another system) keeps its odd bytes visibly as
    `\\xNN`, so that it can be stored and shown; the file itself is read by its real name.
    """
    text = path.absolute().relative_to(root.absolute()).as_posix()
    return os.fsencode(text).decode("utf-8", errors="backslashreplace")
