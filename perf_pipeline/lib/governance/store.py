"""The governance store: one JSON-lines file per kind of record under `<data>/governance/`.

Why files and not a database: the store must be append-only, attributable, safe when many people
write at once, backed up by copying one folder, and readable by an auditor without the app.
Each record is one line, written whole with one `write` and `fsync` while an exclusive file lock
is held (`filelock`), so writers from any number of threads or processes queue rather than
interleave, and a copy of the folder taken at any moment holds every finished record.

- **Append-only.** Files are only ever opened for appending. A change is a new record naming the
  record it `replaces`; a record can be replaced once (a second change to the same version is
  refused as a conflict: the writer reloads and sees the other change first).
- **Ids are line numbers** (`SO7` is line 7 of `signoffs.jsonl`), so an edit that inserts or deletes
  a line shows up as a record whose id does not match its line.
- **Replays record nothing.** Every form carries a request id; a request id already in the file
  returns the record it made the first time, so a double click or a replayed request records once.
- **Damage is reported, not fatal.** A line that is not a valid record (a write cut off by a power
  cut, a hand edit) is listed with its file and line and skipped; a writer first ends such a line
  so that its own record starts on a line of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock
from pydantic import ValidationError

from perf_pipeline.lib.governance.records import KINDS, Record

MAX_LINE_BYTES = 512 * 1024
LOCK_TIMEOUT_SECONDS = 30


class Refused(Exception):
    """A write that the rules do not allow; the message is for the person who tried it."""


class Conflict(Refused):
    """The record was changed by someone else since the page was loaded."""


@dataclass(frozen=True)
class Actor:
    """Who is asking or acting: an account (its name, role, and the portfolio or committee it
    belongs to), or, where the council opens the app to the public, anyone (`app.permissions.PUBLIC`)."""

    name: str
    role: str
    portfolio: str | None = None
    committee: str | None = None


@dataclass
class _FileState:
    offset: int = 0
    lines: int = 0
    records: list[Record] = field(default_factory=list)
    by_id: dict[str, Record] = field(default_factory=dict)
    by_request: dict[str, Record] = field(default_factory=dict)
    replaced: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    ends_cleanly: bool = True


def _messages(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}"
        for e in error.errors(include_url=False)
    )


class GovernanceStore:
    """Read and append the governance records of one data root."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._states: dict[str, _FileState] = {}
        self._guard = threading.Lock()

    def path(self, kind: str) -> Path:
        return self.folder / KINDS[kind][0]

    # Reading -------------------------------------------------------------------------------

    def _catch_up(self, kind: str) -> _FileState:
        """Read what other writers appended since the last look (complete lines only)."""
        path = self.path(kind)
        state = self._states.setdefault(kind, _FileState())
        if not path.is_file():
            return state
        size = path.stat().st_size
        if size < state.offset:
            # Append-only files never shrink: say so, and read the file again from the start.
            self._states[kind] = state = _FileState(
                problems=[f"governance/{path.name}: the file is shorter than before: records were removed"]
            )
        if size == state.offset:
            return state
        with path.open("rb") as handle:
            handle.seek(state.offset)
            while True:
                line = handle.readline(MAX_LINE_BYTES + 1)
                if not line:
                    break
                if not line.endswith(b"\n"):
                    if len(line) > MAX_LINE_BYTES:  # an over-long line: skip to its end
                        state.lines += 1
                        state.problems.append(
                            f"governance/{path.name} line {state.lines}: longer than {MAX_LINE_BYTES} bytes"
                        )
                        rest = line
                        while rest and not rest.endswith(b"\n"):
                            rest = handle.readline(MAX_LINE_BYTES)
                            state.offset += len(rest)
                        state.offset += len(line)
                        continue
                    # An unfinished line: another writer's record in progress, or a torn write.
                    state.ends_cleanly = False
                    break
                state.offset += len(line)
                state.lines += 1
                state.ends_cleanly = True
                self._take(kind, state, line, path.name)
        return state

    def _take(self, kind: str, state: _FileState, line: bytes, name: str) -> None:
        where = f"governance/{name} line {state.lines}"
        try:
            data = json.loads(line)
        except ValueError:
            state.problems.append(f"{where}: not a complete record (a write cut off, or an edit by hand)")
            return
        try:
            record = Record.model_validate(data)
            KINDS[kind][2].model_validate(record.content)
        except ValidationError as error:
            state.problems.append(f"{where}: not a valid record ({_messages(error)})")
            return
        if record.kind != kind:
            state.problems.append(f"{where}: a '{record.kind}' record in the file of '{kind}' records")
            return
        if record.id in state.by_id:
            state.problems.append(f"{where}: id {record.id} is used twice; the second is ignored")
            return
        if record.id != f"{KINDS[kind][1]}{state.lines}":
            state.problems.append(
                f"{where}: id {record.id} does not match its line (lines inserted or removed?)"
            )
        state.records.append(record)
        state.by_id[record.id] = record
        state.by_request.setdefault(record.request_id, record)
        if record.replaces:
            state.replaced.add(record.replaces)

    def records(self, kind: str, quarter: str | None = None) -> list[Record]:
        """Every record of a kind, oldest first (one quarter's if given)."""
        with self._guard:
            records = list(self._catch_up(kind).records)
        return [r for r in records if quarter is None or r.quarter == quarter]

    def current(self, kind: str, quarter: str | None = None) -> list[Record]:
        """The latest version of each chain: records no later record replaces."""
        with self._guard:
            state = self._catch_up(kind)
            replaced = set(state.replaced)
            records = list(state.records)
        return [r for r in records if r.id not in replaced and (quarter is None or r.quarter == quarter)]

    def get(self, kind: str, record_id: str) -> Record | None:
        with self._guard:
            return self._catch_up(kind).by_id.get(record_id)

    def problems(self) -> list[str]:
        """Every line that could not be used, with its file and line."""
        with self._guard:
            return [p for kind in KINDS for p in self._catch_up(kind).problems]

    def quarter_versions(self) -> dict[str, str]:
        """A data version per quarter: the hash of that quarter's records of every kind."""
        lines: dict[str, list[str]] = {}
        for kind in KINDS:
            for record in self.records(kind):
                lines.setdefault(record.quarter, []).append(record.model_dump_json())
        return {q: hashlib.sha256("\n".join(ls).encode()).hexdigest()[:16] for q, ls in sorted(lines.items())}

    # Writing -------------------------------------------------------------------------------

    def append(
        self,
        kind: str,
        *,
        quarter: str,
        actor: Actor,
        content: dict,
        request_id: str,
        replaces: str | None = None,
        check: Callable[[list[Record]], None] | None = None,
    ) -> tuple[Record, bool]:
        """Record one change; `(record, True)`, or `(the earlier record, False)` for a replayed request.

        `check` runs under the lock with the kind's records, so a rule such as "stages in order"
        holds however many people sign at once; it raises `Refused` to stop the write.
        """
        file_name, prefix, model = KINDS[kind]
        try:
            content = model.model_validate(content).model_dump(mode="json")
        except ValidationError as error:
            raise Refused(_messages(error)) from None
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._guard, FileLock(self.folder / f".{file_name}.lock", timeout=LOCK_TIMEOUT_SECONDS):
            state = self._catch_up(kind)
            earlier = state.by_request.get(request_id)
            if earlier is not None:
                if earlier.account != actor.name or earlier.quarter != quarter:
                    raise Refused("This form was already used: reload the page and try again.")
                return earlier, False
            if replaces is not None:
                if replaces not in state.by_id or state.by_id[replaces].quarter != quarter:
                    raise Refused(f"There is no record {replaces} for this quarter to change.")
                if replaces in state.replaced:
                    newer = next(r for r in state.records if r.replaces == replaces)
                    raise Conflict(
                        f"{replaces} was changed by {newer.account} at {newer.at:%H:%M on %-d %B %Y}: "
                        "reload the page to see the change first."
                    )
            if check is not None:
                check(list(state.records))
            try:
                record = Record(
                    id=f"{prefix}{state.lines + 1 + (0 if state.ends_cleanly else 1)}",
                    kind=kind,
                    quarter=quarter,
                    account=actor.name,
                    role=actor.role,
                    at=dt.datetime.now(dt.UTC),
                    replaces=replaces,
                    request_id=request_id,
                    content=content,
                )
            except ValidationError as error:
                raise Refused(_messages(error)) from None
            line = (record.model_dump_json() + "\n").encode()
            if len(line) > MAX_LINE_BYTES:
                raise Refused("The record is too large to keep.")
            self._write(self.path(kind), line if state.ends_cleanly else b"\n" + line)
            # Read back what was written (and anything before it), so the cache is the file.
            fresh = self._catch_up(kind)
            return fresh.by_id[record.id], True

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)


def new_request_id() -> str:
    """A request id for a form, unguessable and unique."""
    return hashlib.sha256(os.urandom(32)).hexdigest()[:32]
