"""Figures as a councillor reads them: units, precision, and status in words and symbols."""

from __future__ import annotations

import math

from perf_pipeline.lib.performance import at_precision

# Status is never shown by colour alone: each has a symbol and its name.
RAG_SYMBOLS = {
    "Green": "●",
    "Amber": "◆",
    "Red": "▲",
    "Grey": "■",
    "Not reported": "○",
    "Not due": "–",
}
DOT_SYMBOLS = {
    "Improving": "↑",
    "Worsening": "↓",
    "No change": "→",
    "No comparison": "·",
    "Up": "↗",
    "Down": "↘",
}
RAG_COLOURS = {
    "Green": "#1b7837",
    "Amber": "#b35806",
    "Red": "#b2182b",
    "Grey": "#6b6b6b",
    "Not reported": "#6b6b6b",
    "Not due": "#9e9e9e",
}
RAG_FILLS = {
    "Green": "C6E7C6",
    "Amber": "FCE2B8",
    "Red": "F6C1C1",
    "Grey": "E0E0E0",
    "Not reported": "EFEFEF",
}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value, unit: str, decimals: int = 1, unit_label: str | None = None) -> str:
    """`85.3%`, `£2,500`, `1,234`, `12.5 days`; a dash for no value."""
    if _missing(value):
        return "–"
    rounded = at_precision(value, decimals) + 0.0  # -0.0 + 0.0 is 0.0: never shown as -0
    text = f"{rounded:,.{int(decimals)}f}"
    if unit == "percent":
        return f"{text}%"
    if unit == "currency":
        return f"−£{text[1:]}" if text.startswith("-") else f"£{text}"
    if unit == "days":
        return f"{text} days"
    if unit_label and unit_label.strip():
        return f"{text} {unit_label.strip()}"
    return text


def rag_label(status: str) -> str:
    return f"{RAG_SYMBOLS.get(status, '')} {status}".strip()


def dot_label(direction: str) -> str:
    return f"{DOT_SYMBOLS.get(direction, '')} {direction}".strip()
