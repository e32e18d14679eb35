"""App benchmark: the performance app's latency under load, and the cost of publishing its snapshot.

    .venv/bin/python benchmarks/app.py                # the example (after `make demo`)
    .venv/bin/python benchmarks/app.py --synthetic    # also the 500-indicator council of scale.py

For each council it publishes the snapshot twice (real Dagster runs of `app_snapshot` on a copy of
the warehouse): first with no snapshot before it, so every chart of the latest two quarters' pages
is drawn, then again, as each later run does, copying the charts the previous snapshot holds; it prints seconds, bytes and
charts for both. Then it starts `perf-pipeline app` on 127.0.0.1 and
sends 20 concurrent clients (httpx and asyncio) at the overview, the indicator pages (every
indicator in turn, first and later visits) and the overview's CSV, and prints p50 and
p95 latency per page, beside `/healthz` (the HTTP stack and a look at the snapshot file: the plain
baseline, measured in the same run). These machines are noisy: read the ratios. It asserts nothing.

Goal: p95 <= 150 ms for an indicator page on 2 cores. Charts are drawn when the snapshot is
published, so no page draws one; the first visit to each indicator page after a new snapshot
builds the page (later visits with the same view are served from memory), reported on its own line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from perf_pipeline.app.accounts import Accounts
from perf_pipeline.lib.app_snapshot import SNAPSHOT_FOLDER, snapshot_path

CLIENTS = 20
REQUESTS = 400  # per page type
PASSWORD = "benchmark password, not kept"
BIN = Path(sys.executable).parent
INPUTS = ("reference", "submissions", "corrections", "benchmarks", "improvement_plan", "warehouse")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def publish(root: Path, env: dict) -> dict:
    """A real run of the `app_snapshot` asset (every quarter built); its seconds and bytes as it
    recorded them."""
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "perf_pipeline.definitions"]
        + ["--select", "app_snapshot"],
        env={**env, "PERF_PIPELINE_DATA": str(root)},
        check=True,
        capture_output=True,
    )
    path = snapshot_path(root)
    with sqlite3.connect(path) as con:
        indicators = con.execute("select count(*) from indicators").fetchone()[0]
        quarters = con.execute("select count(distinct quarter) from performance").fetchone()[0]
        charts = con.execute("select count(*) from charts").fetchone()[0]
    import duckdb

    with duckdb.connect(str(root / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        seconds = con.execute(
            "select seconds from perf.app_snapshot order by published_at desc limit 1"
        ).fetchone()[0]
    return {
        "asset_seconds": seconds,
        "run_seconds": time.perf_counter() - started,
        "bytes": path.stat().st_size,
        "indicators": indicators,
        "quarters": quarters,
        "charts": charts,
    }


async def load(base: str, urls: list[str]) -> list[float]:
    """Every url once, by `CLIENTS` concurrent clients sharing one signed-in session; milliseconds each."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        form = (await client.get("/login")).text
        token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        signed = await client.post(
            "/login", data={"name": "bench", "password": PASSWORD, "csrf_token": token}
        )
        assert signed.status_code == 303, signed.text
        queue: asyncio.Queue = asyncio.Queue()
        for url in urls:
            queue.put_nowait(url)
        times: list[float] = []

        async def worker():
            while not queue.empty():
                url = queue.get_nowait()
                started = time.perf_counter()
                response = await client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: {response.status_code}")

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        return times


def percentile(times: list[float], p: float) -> float:
    return statistics.quantiles(times, n=100, method="inclusive")[int(p) - 1]


def serve_and_measure(root: Path, quarter: str, env: dict) -> dict:
    Accounts(root / SNAPSHOT_FOLDER).add("bench", "performance_team", PASSWORD)
    with sqlite3.connect(snapshot_path(root)) as con:
        codes = [r[0] for r in con.execute("select code from indicators order by code")]
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "perf-pipeline"), "--data", str(root), "app", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(200):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        indicators = [f"/q/{quarter}/indicators/{code}" for code in codes]
        pages = {
            "healthz (baseline)": ["/healthz"] * REQUESTS,
            "overview": [f"/q/{quarter}/"] * REQUESTS,
            # The first visit to an indicator page after a new snapshot builds it (its charts were
            # drawn when the snapshot was published); later visits with the same view are served
            # from memory.
            "indicator, 1st visit": indicators[:REQUESTS],
            "indicator": [indicators[i % len(indicators)] for i in range(REQUESTS)],
            "overview CSV": [f"/q/{quarter}/.csv"] * REQUESTS,
        }
        results = {}
        for name, urls in pages.items():
            started = time.perf_counter()
            times = asyncio.run(load(base, urls))
            elapsed = time.perf_counter() - started
            results[name] = {
                "p50": percentile(times, 50),
                "p95": percentile(times, 95),
                "per_second": len(times) / elapsed,
            }
        return results
    finally:
        server.terminate()
        server.wait(30)


def publish_twice(root: Path, env: dict) -> list[dict]:
    """The first publication draws every chart; the next copies them from the one it replaces."""
    snapshot_path(root).unlink(missing_ok=True)  # the run that built the warehouse published one
    return [publish(root, env), publish(root, env)]


def report(council: str, published: list[dict], latency: dict) -> None:
    print(f"\n{council}: {published[0]['indicators']} indicators, {published[0]['quarters']} quarters")
    for when, p in zip(("first (every chart drawn)", "again (charts copied)"), published):
        print(
            f"  snapshot published {when}: {p['asset_seconds']:.2f} s inside the asset "
            f"({p['run_seconds']:.1f} s for the whole Dagster run), {p['bytes'] / 1e6:.1f} MB, "
            f"{p['charts']} charts"
        )
    base = latency["healthz (baseline)"]["p50"]
    for name, r in latency.items():
        goal = "  (goal p95 <= 150 ms)" if name == "indicator" else ""
        print(
            f"  {name:20s} p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms  {r['per_second']:6.0f}/s  "
            f"p50 x{r['p50'] / base:.1f} baseline{goal}"
        )


def example(scratch: Path, data: Path) -> None:
    if not (data / "warehouse" / "warehouse.duckdb").is_file():
        raise SystemExit(f"{data} has no warehouse: run `make demo` first")
    root = scratch / "example" / "data"
    for folder in INPUTS:
        if (data / folder).is_dir():
            shutil.copytree(data / folder, root / folder)
    env = {**os.environ, "DAGSTER_HOME": str(scratch / "example" / "dagster")}
    Path(env["DAGSTER_HOME"]).mkdir(parents=True)
    quarter = max(p.name for p in (root / "submissions").iterdir() if p.is_dir() and p.name[:2] == "20")
    published = publish_twice(root, env)
    report("Example (Darlington)", published, serve_and_measure(root, quarter, env))


def synthetic(scratch: Path) -> None:
    from benchmarks import scale

    root = scratch / "synthetic" / "data"
    print("Generating the synthetic council and running its last three quarters ...", flush=True)
    scale.generate(root)
    env = {
        **os.environ,
        "PERF_PIPELINE_FIRST_QUARTER": scale.FIRST.key,
        "DAGSTER_HOME": str(scratch / "synthetic" / "dagster"),
    }
    last = scale.LAST
    subprocess.run(
        [
            str(BIN / "perf-pipeline"),
            "--data",
            str(root),
            "run",
            "--from",
            last.shift(-2).key,
            "--to",
            last.key,
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    published = publish_twice(root, env)
    report(
        f"Synthetic council ({scale.N_INDICATORS} indicators)",
        published,
        serve_and_measure(root, last.key, env),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPOSITORY / "data", help="the example's data root")
    parser.add_argument("--synthetic", action="store_true", help="also the 500-indicator synthetic council")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="perf-app-") as scratch:
        example(Path(scratch), args.data.absolute())
        if args.synthetic:
            synthetic(Path(scratch))


if __name__ == "__main__":
    main()
