"""Financial-year quarters (April to March), in the forms councils write them.

`2025-26-Q2` is the form used in folders, files and on the command line; `2025/26 Q2` is the form
people read. Both, and a few variants seen in returns, are accepted on input.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_QUARTER_PATTERNS = [
    # 2025-26-Q2, 2025/26 Q2, 2025-2026 Q2, 2025/26-Q2
    re.compile(r"^(?P<y1>\d{4})\s*[-/]\s*(?P<y2>\d{2}|\d{4})\s*[- ]?\s*Q(?P<q>[1-4])$", re.IGNORECASE),
    # Q2 2025/26, Q2 2025-26
    re.compile(r"^Q(?P<q>[1-4])\s*[- ]?\s*(?P<y1>\d{4})\s*[-/]\s*(?P<y2>\d{2}|\d{4})$", re.IGNORECASE),
]


# The financial years a quarter may fall in: beyond them a date cannot be held in the warehouse
# (pandas' timestamps end in 2262), and no council reports on them; `9999/00 Q4` is a typo.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199

# How far quarters reach one another (the partition mappings read these, without pandas):
# a quarter's figure can be revised by the returns of the next three quarters;
REVISION_WINDOW_QUARTERS = 3
# a quarter's assessment draws on the seven quarters before it: the previous quarter (short
# direction of travel), the same quarter last year (long direction of travel) and last year's
# year to date. A change to any of them changes the assessment.
ASSESSED_QUARTERS_BEFORE = 7


class QuarterError(ValueError):
    """Text that is not a financial-year quarter."""


@dataclass(frozen=True, order=True)
class Quarter:
    """A financial-year quarter: `year` is the year the financial year starts (2025 for 2025/26)."""

    year: int
    q: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        cleaned = " ".join(str(text).strip().split())
        for pattern in _QUARTER_PATTERNS:
            match = pattern.match(cleaned)
            if match:
                y1 = int(match["y1"])
                y2 = match["y2"]
                expected = (y1 + 1) % (100 if len(y2) == 2 else 10_000)
                if int(y2) != expected:
                    raise QuarterError(f"'{text}': {y1} is not followed by {y2}")
                if not EARLIEST_YEAR <= y1 <= LATEST_YEAR:
                    raise QuarterError(
                        f"'{text}' is not a quarter we can hold: the year must be between "
                        f"{EARLIEST_YEAR} and {LATEST_YEAR} (write it as 2025/26 Q2)"
                    )
                return cls(y1, int(match["q"]))
        raise QuarterError(f"'{text}' is not a quarter; write it as 2025/26 Q2 or 2025-26-Q2")

    @classmethod
    def from_partition_key(cls, key: str) -> Quarter:
        return cls.containing(dt.date.fromisoformat(key))

    @classmethod
    def containing(cls, day: dt.date) -> Quarter:
        if day.month >= 4:
            return cls(day.year, (day.month - 4) // 3 + 1)
        return cls(day.year - 1, 4)

    @property
    def key(self) -> str:
        """Folder and command-line form: `2025-26-Q2`."""
        return f"{self.fy_key}-Q{self.q}"

    @property
    def label(self) -> str:
        """What people read: `2025/26 Q2`."""
        return f"{self.year}/{(self.year + 1) % 100:02d} Q{self.q}"

    @property
    def fy_key(self) -> str:
        """The financial year in file form: `2025-26`."""
        return f"{self.year}-{(self.year + 1) % 100:02d}"

    @property
    def start(self) -> dt.date:
        month = 4 + 3 * (self.q - 1)
        return dt.date(self.year + (month > 12), (month - 1) % 12 + 1, 1)

    @property
    def end(self) -> dt.date:
        return self.shift(1).start - dt.timedelta(days=1)

    @property
    def partition_key(self) -> str:
        """The Dagster partition key: the quarter's first day."""
        return self.start.isoformat()

    def shift(self, quarters: int) -> Quarter:
        index = self.year * 4 + (self.q - 1) + quarters
        return Quarter(index // 4, index % 4 + 1)

    def __sub__(self, other: Quarter) -> int:
        """Quarters from `other` to `self`."""
        return (self.year * 4 + self.q) - (other.year * 4 + other.q)

    def __str__(self) -> str:
        return self.key


def fiscal_year_key(text: str) -> str:
    """Normalise a financial year (`2025-26`, `2025/26`, `2025-2026`) to `2025-26`."""
    match = re.match(r"^\s*(\d{4})\s*[-/]\s*(\d{2}|\d{4})\s*$", str(text))
    if not match:
        raise QuarterError(f"'{text}' is not a financial year; write it as 2025-26")
    y1, y2 = int(match[1]), match[2]
    if int(y2) != (y1 + 1) % (100 if len(y2) == 2 else 10_000):
        raise QuarterError(f"'{text}': {y1} is not followed by {y2}")
    return f"{y1}-{(y1 + 1) % 100:02d}"


def quarter_range(first: Quarter, last: Quarter) -> list[Quarter]:
    return [first.shift(i) for i in range(last - first + 1)]
