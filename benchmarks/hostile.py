"""Hostile-files benchmark: time and peak memory of reading the largest and most hostile returns.

    .venv/bin/python benchmarks/hostile.py            # about a minute

Writes each file into a temporary data root, then reads it with the pipeline's own `read_return`
(and checks the rows with `validate_returns`) in a fresh Python process, so that each peak memory
is its own, and prints the outcome, seconds (wall clock, and the CPU time the reading took: on a
shared machine the second is the steadier) and peak memory. The baseline in the same run is
pandas' plain `read_csv` of the largest CSV: what reading costs with no care at all. Before the
limits (`[limits]` in council.toml), the one-cell workbook and the long line each grew past 9 GB
and never finished. It is a script, not a test: it asserts nothing.

Goal: every file read or refused in seconds, each under 1 GiB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

ROWS = 1_000_000
LONG_LINE_CELLS = 12_000_000
QUARTER = "2024-25-Q2"


def workbook_bytes(rows: list[list]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def replace_part(data: bytes, part: str, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            target.writestr(item, change(content) if item.filename == part else content)
    return out.getvalue()


def far_cell() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Code", "Value"])
    book.active.append(["WM01", 41])
    book.active["XFD1048576"] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def unpacking_bomb() -> bytes:
    """A sheet of 300 MB of XML that deflates to well under a megabyte."""
    row = b'<row r="1">' + b'<c r="A1"><v>1</v></c>' * 50 + b"</row>"
    sheet = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    body = row * (300 * 2**20 // len(row))
    return replace_part(
        workbook_bytes([["Code", "Value"]]),
        "xl/worksheets/sheet1.xml",
        lambda _: sheet + body + b"</sheetData></worksheet>",
    )


def entity_bomb() -> bytes:
    doctype = (
        b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8))
        + b"]>"
    )
    return replace_part(
        workbook_bytes([["Code", "Value"], ["WM01", "x"]]),
        "xl/worksheets/sheet1.xml",
        lambda xml: doctype + xml.split(b"?>", 1)[-1].replace(b"<t>WM01", b"<t>&i;WM01", 1),
    )


def empty_rows() -> bytes:
    """Two million rows with no cells (six bytes each): more than a sheet can have."""
    return replace_part(
        workbook_bytes([["Code", "Value"], ["WM01", 41]]),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"</sheetData>", b"<row/>" * 2_000_000 + b"</sheetData>"),
    )


def shared_strings() -> bytes:
    """13,000,000 shared strings no cell uses, in a zip of half a megabyte."""
    from perf_pipeline_tests.test_returns import with_shared_strings

    return with_shared_strings(13_000_000)


def big_csv() -> bytes:
    lines = ["Indicator Code,Value,Commentary"] + [f"WM0{1 + n % 2},{n % 97},row {n}" for n in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


def big_workbook() -> bytes:
    return workbook_bytes(
        [["Code", "Value", "Commentary"]] + [[f"WM0{1 + n % 2}", n % 97, f"row {n}"] for n in range(100_000)]
    )


FILES = {
    "a 1,000,000-row CSV (the largest)": ("big.csv", big_csv),
    "the same CSV in UTF-16 without a BOM": ("utf16.csv", lambda: big_csv().decode().encode("utf-16-le")),
    "a 100,000-row workbook": ("big.xlsx", big_workbook),
    "a workbook with one cell at XFD1048576": ("far.xlsx", far_cell),
    f"one line of {LONG_LINE_CELLS:,} cells": (
        "line.csv",
        lambda: b"code,value\nWM01," + b"12," * LONG_LINE_CELLS + b"\n",
    ),
    "a sheet of 300 MB of XML in a small zip": ("unpacking.xlsx", unpacking_bomb),
    "nested entity expansion (a billion laughs)": ("laughs.xlsx", entity_bomb),
    "a sheet of 2,000,000 empty rows in a small zip": ("rows.xlsx", empty_rows),
    "13,000,000 shared strings in a small zip": ("strings.xlsx", shared_strings),
}


def stage(path: Path, root: Path) -> dict:
    from perf_pipeline.lib.quarters import Quarter
    from perf_pipeline.lib.reference import load_indicators, load_rag_rules, load_services
    from perf_pipeline.lib.returns_reader import raw_frame, read_return
    from perf_pipeline.lib.returns_validation import validate_returns

    reference = root / "reference"
    indicators = load_indicators(
        reference / "indicators.csv",
        load_services(reference / "services.csv"),
        load_rag_rules(reference / "rag_rules.toml"),
    )
    started, cpu = time.perf_counter(), time.process_time()
    read = read_return(path, root)
    validated, exceptions = validate_returns(
        raw_frame([read]), indicators, Quarter.parse(QUARTER), Quarter(2021, 1)
    )
    return {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "outcome": read.problem_message
        or f"{read.row_count:,} rows read, {len(validated):,} accepted, {len(exceptions):,} exceptions",
    }


def baseline(path: Path) -> dict:
    import pandas as pd

    started, cpu = time.perf_counter(), time.process_time()
    frame = pd.read_csv(path, dtype=str)
    return {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "outcome": f"{len(frame):,} rows (pandas read_csv, no checks)",
    }


def measured(arguments: list[str]) -> dict:
    """Run one reading in a fresh Python process; its peak memory is its own."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        process = subprocess.Popen([sys.executable, __file__, *arguments, "--out", out.name])
        _, status, usage = os.wait4(process.pid, 0)
        if status != 0:
            raise SystemExit(f"{arguments} failed")
        figures = json.loads(Path(out.name).read_text())
    figures["peak_mib"] = usage.ru_maxrss / 1024
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--file")
    parser.add_argument("--root")
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--make")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.make:
        Path(args.file).write_bytes(FILES[args.make][1]())
        return
    if args.out:
        path = Path(args.file)
        result = baseline(path) if args.baseline else stage(path, Path(args.root))
        Path(args.out).write_text(json.dumps(result))
        return

    from perf_pipeline_tests.conftest import COUNCIL, INDICATORS, RAG_RULES, SERVICES

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for name, text in (
            ("services.csv", SERVICES),
            ("indicators.csv", INDICATORS),
            ("rag_rules.toml", RAG_RULES),
            ("council.toml", COUNCIL),
        ):
            (root / "reference").mkdir(exist_ok=True)
            (root / "reference" / name).write_text(text)
        folder = root / "submissions" / QUARTER
        folder.mkdir(parents=True)
        print(f"{'file':<46} {'bytes':>12} {'seconds':>8} {'cpu s':>6} {'peak MiB':>9}  outcome")
        for label, (name, _) in FILES.items():
            path = folder / name
            # Made in a process of its own: a child's peak memory starts from its parent's size.
            subprocess.run([sys.executable, __file__, "--make", label, "--file", str(path)], check=True)
            r = measured(["--file", str(path), "--root", str(root)])
            print(
                f"{label:<46} {path.stat().st_size:>12,} {r['seconds']:>8.2f} {r['cpu']:>6.2f} "
                f"{r['peak_mib']:>9.0f}  {r['outcome'][:110]}"
            )
            if name == "big.csv":
                b = measured(["--file", str(path), "--baseline"])
                print(
                    f"{'  baseline: pandas read_csv of the same file':<46} {'':>12} {b['seconds']:>8.2f} "
                    f"{b['cpu']:>6.2f} {b['peak_mib']:>9.0f}  {b['outcome']}"
                )
                print(
                    f"{'  ratio to the baseline':<46} {'':>12} {r['seconds'] / b['seconds']:>8.1f} "
                    f"{r['cpu'] / b['cpu']:>6.1f} {r['peak_mib'] / b['peak_mib']:>9.1f}"
                )
            path.unlink()


if __name__ == "__main__":
    main()
