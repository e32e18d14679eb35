"""Load test of the governance store through the real app: 20 people signing, writing and
proposing at once for a minute against `perf-pipeline app` on 127.0.0.1, then the records counted.

    .venv/bin/python benchmarks/governance_load.py --data data [--users 20] [--seconds 60]

`--data` is a data root whose app snapshot is published (after `make demo`). The run works on a
copy of its snapshot and reference files in a temporary folder, with accounts of its own, so the
data root is not changed. Every person, in a thread of their own, loads a governance page, fills
in its form and sends it, one request in ten sent twice as a double click would. Afterwards:

- every record the server acknowledged (its redirect names the record) is in the store, once;
- no record is in the store that was not acknowledged, and no request id is recorded twice;
- a request sent twice was acknowledged with the same record both times;
- each review stage was signed once, however many people tried at the same moment.

The baseline, in the same run: the same number of records appended straight to the store from
one process, without the web server.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from perf_pipeline.app.accounts import Accounts
from perf_pipeline.lib.app_snapshot import SNAPSHOT_FILE, SNAPSHOT_FOLDER
from perf_pipeline.lib.governance.stages import GOVERNANCE_FOLDER
from perf_pipeline.lib.governance.store import Actor, GovernanceStore, new_request_id

PASSWORD = "load test password 2025"
QUARTER = "2025-26-Q1"  # approved in the example, so every role may open it
ROLES = [
    ("performance_team", None, None),
    ("officer", None, None),
    ("portfolio_holder", "Resources", None),
    ("viewer", None, "Economy and Resources Scrutiny Committee"),
]
HIDDEN = re.compile(r'type="hidden" name="([^"]+)" value="([^"]*)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def form_fields(html: str, action: str) -> dict | None:
    start = html.rfind(f'action="{action}"')  # the last: a new narrative, not an edit of one
    if start < 0:
        return None
    return dict(HIDDEN.findall(html[start : html.index("</form>", start)]))


class Person(threading.Thread):
    def __init__(
        self, base: str, name: str, role: str, seconds: float, number: int, barrier: threading.Barrier
    ):
        super().__init__(daemon=True)
        self.base, self.name, self.role, self.seconds, self.number = base, name, role, seconds, number
        self.barrier = barrier
        self.acks: list[tuple[str, str]] = []  # (request id, record id)
        self.refused: Counter = Counter()
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def post(self, client, page: str, action: str, data: dict, twice: bool) -> None:
        html = client.get(f"/q/{QUARTER}/{page}").text
        fields = form_fields(html, f"/q/{QUARTER}/{action}")
        if fields is None:
            self.refused["no form on the page (nothing theirs to do)"] += 1
            return
        for _ in range(2 if twice else 1):
            started = time.perf_counter()
            response = client.post(f"/q/{QUARTER}/{action}", data={**fields, **data})
            self.latencies.append(time.perf_counter() - started)
            if response.status_code == 303 and "recorded=" in response.headers["location"]:
                self.acks.append((fields["request_id"], response.headers["location"].split("recorded=")[1]))
            elif response.status_code in (400, 403, 409):
                self.refused[f"{action} {response.status_code}"] += 1
            else:
                self.errors.append(f"{action}: {response.status_code}")

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=60) as client:
            login = client.get("/login").text
            token = HIDDEN.search(login[login.index('name="csrf_token"') - 30 :]).group(2)
            client.post(
                "/login", data={"name": self.name, "password": PASSWORD, "csrf_token": token, "next": "/"}
            )
            # Everyone signs in first (password hashing is slow by design), then all start together.
            self.barrier.wait()
            deadline = time.monotonic() + self.seconds
            i = 0
            while time.monotonic() < deadline:
                i += 1
                twice = i % 10 == 0
                text = f"{self.name} note {i}: =1+1 <b>not bold</b>"
                if i % 3 == 1:  # everyone tries to sign whatever stage is next, if theirs
                    self.post(client, "review", "review/sign", {"comment": text}, twice)
                elif self.role == "viewer" and i % 2:
                    data = {"subject_type": "indicator", "subject": "RB01", "question": text}
                    self.post(client, "scrutiny", "scrutiny/propose", data, twice)
                elif self.role == "officer" and i % 2:
                    data = {"subject": f"directorate|Load {self.number}-{i}", "text": text}
                    self.post(client, "narrative", "narrative/write", data, twice)
                else:
                    self.post(client, "scrutiny", "scrutiny/feedback", {"text": text}, twice)


def baseline(count: int) -> float:
    """Records per second appended straight to a store in one process (no web server)."""
    with tempfile.TemporaryDirectory() as folder:
        store = GovernanceStore(Path(folder))
        started = time.perf_counter()
        for i in range(count):
            store.append(
                "feedback",
                quarter=QUARTER,
                actor=Actor("baseline", "viewer"),
                content={"text": f"note {i}"},
                request_id=new_request_id(),
            )
        return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    snapshot = args.data / SNAPSHOT_FOLDER / SNAPSHOT_FILE
    if not snapshot.is_file():
        print(f"No app snapshot at {snapshot}: run `make demo` (or perf-pipeline run) first.")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        (root / SNAPSHOT_FOLDER).mkdir(parents=True)
        shutil.copy(snapshot, root / SNAPSHOT_FOLDER / SNAPSHOT_FILE)
        shutil.copytree(args.data / "reference", root / "reference")
        accounts = Accounts(root / SNAPSHOT_FOLDER)
        people = []
        for n in range(args.users):
            role, portfolio, committee = ROLES[n % len(ROLES)]
            accounts.add(f"user{n:02d}", role, PASSWORD, portfolio, committee)
            people.append((f"user{n:02d}", role))
        port = free_port()
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("perf-pipeline")),
                "--data",
                str(root),
                "app",
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            barrier = threading.Barrier(len(people) + 1)
            threads = [
                Person(base, name, role, args.seconds, n, barrier) for n, (name, role) in enumerate(people)
            ]
            for t in threads:
                t.start()
            barrier.wait(timeout=300)
            started = time.perf_counter()
            for t in threads:
                t.join(args.seconds + 120)
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(30)
        return report(root, threads, elapsed)


def report(root: Path, threads: list[Person], elapsed: float) -> int:
    store = GovernanceStore(root / GOVERNANCE_FOLDER)
    kinds = ["signoff", "narrative", "scrutiny", "feedback"]
    records = {kind: store.records(kind) for kind in kinds}
    stored = [r for kind in kinds for r in records[kind]]
    acks = [a for t in threads for a in t.acks]
    acked_ids = {record_id for _, record_id in acks}
    by_request: dict[str, set] = {}
    for request_id, record_id in acks:
        by_request.setdefault(request_id, set()).add(record_id)
    stored_ids = Counter(r.id for r in stored)
    stored_requests = Counter(r.request_id for r in stored)
    lost = acked_ids - set(stored_ids)
    unacknowledged = set(stored_ids) - acked_ids
    duplicated_ids = [i for i, n in stored_ids.items() if n > 1]
    duplicated_requests = [i for i, n in stored_requests.items() if n > 1]
    split_replays = [r for r, ids in by_request.items() if len(ids) > 1]
    stages = Counter(r.content["stage"] for r in records["signoff"])
    latencies = sorted(x for t in threads for x in t.latencies)
    errors = [e for t in threads for e in t.errors]
    refused = sum((t.refused for t in threads), Counter())
    sent = len(latencies)
    print(f"{len(threads)} people for {elapsed:.1f} s against the real server on 127.0.0.1")
    print(
        f"  form posts sent        {sent} ({sent / elapsed:.1f}/s), of which double sends {len(acks) - len(acked_ids)}"
    )
    print(f"  acknowledged records   {len(acked_ids)}")
    print(
        f"  records in the store   {len(stored)}  " + ", ".join(f"{k} {len(v)}" for k, v in records.items())
    )
    print(
        f"  refused by the rules   {sum(refused.values())}  "
        + ", ".join(f"{k}: {n}" for k, n in refused.most_common())
    )
    print(
        f"  post latency           p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {latencies[int(0.95 * (sent - 1))] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )
    print(f"  sign-offs per stage    {dict(stages)}")
    print(
        f"  lost {len(lost)}, recorded but not acknowledged {len(unacknowledged)}, duplicate ids "
        f"{len(duplicated_ids)}, request ids recorded twice {len(duplicated_requests)}, "
        f"double sends answered with different records {len(split_replays)}, server errors {len(errors)}"
    )
    print(f"  store problems         {len(store.problems())}")
    direct = baseline(len(stored) or 100)
    through_server = len(acked_ids) / elapsed
    print(
        f"baseline: {direct:.0f} records/s appended straight to the store in one process; through the "
        f"server {through_server:.1f} records/s ({through_server / direct:.3f} of it, the rest is HTTP, "
        "sign-in sessions and page rendering)"
    )
    ok = not (lost or unacknowledged or duplicated_ids or duplicated_requests or split_replays or errors)
    ok = ok and all(n == 1 for n in stages.values()) and not store.problems()
    print("OK: nothing lost, nothing duplicated" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
