"""The framework's own shape: tags from the council's vocabularies, and what each indicator measures.

A council describes its framework in the reference data (SPEC §14):

- `reference/tags.toml` names its vocabularies (operating principles; economy, efficiency and
  effectiveness; the partnerships it shares outcomes with) and the values each allows;
- `indicators.csv` may tag an indicator with several of them (`tags`, `vocabulary:value`,
  `;`-separated) and says whether it measures an `outcome`, an `output` or a `process`
  (`measure_type`), of the world outside the council or of its own business (`measure_source`);
- `improvement_plan/actions.csv` may tag an action the same way and name the indicators it is
  meant to move (`indicator_codes`).

Every value is checked, and a mistake is reported with the file, the row and the column, like the
rest of the reference data.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd

from perf_pipeline.lib.reference import read_text_table
from perf_pipeline.lib.validation import ReferenceDataError

# The reference files that describe the framework (SPEC §14): watched as one input, so a change
# to any of them rebuilds the registers read from them (`defs/sources.py`).
FRAMEWORK_FILES = [
    "tags.toml",
    "programmes.csv",
    "milestones.csv",
    "benefits.csv",
    "risks.csv",
    "risk_reviews.csv",
    "feedback_rules.toml",
]
MEASURE_TYPES = ["outcome", "output", "process"]
MEASURE_SOURCES = ["external", "internal"]
TAG_COLUMNS = ["subject", "subject_id", "vocabulary", "value", "vocabulary_title", "label"]
MEASURE_COLUMNS = ["code", "measure_type", "measure_source", "tags"]
LINK_COLUMNS = ["action_id", "indicator_code"]
UNCLASSIFIED = "not classified"
# The brief's question: external outcomes against internal business processes, and the rest.
MEASURE_GROUPS = [
    ("external", "outcome", "External outcomes"),
    ("external", "output", "External outputs"),
    ("external", "process", "External processes"),
    ("internal", "outcome", "Internal outcomes"),
    ("internal", "output", "Internal outputs"),
    ("internal", "process", "Internal business processes"),
]


def load_tag_vocabularies(path: Path) -> dict[str, dict]:
    """`tags.toml`: `[vocabulary]` tables with a `title` and a `[vocabulary.values]` table of labels.

    A council without the file has no vocabularies (and so may not tag anything).
    """
    if not path.is_file():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ReferenceDataError([f"reference/{path.name}: not valid TOML ({exc})"]) from None
    vocabularies, problems = {}, []
    for name, table in raw.items():
        where = f"reference/{path.name} [{name}]"
        values = table.get("values") if isinstance(table, dict) else None
        if not isinstance(values, dict) or not values:
            problems.append(f'{where}: needs a [{name}.values] table of value = "label" lines')
            continue
        bad = [v for v, label in values.items() if not isinstance(label, str) or ":" in v or ";" in v]
        if bad:
            problems.append(f"{where}: values {', '.join(bad)} need a text label and no ':' or ';'")
        vocabularies[name] = {
            "title": str(table.get("title", name.replace("_", " ").capitalize())),
            "values": {str(v): str(label) for v, label in values.items()},
        }
    if problems:
        raise ReferenceDataError(problems)
    return vocabularies


def split_list(text: object) -> list[str]:
    """`a; b;;c` as `["a", "b", "c"]`; blank as no items."""
    if not isinstance(text, str):
        return []
    return [part.strip() for part in text.split(";") if part.strip()]


def tag_problem(tag: str, vocabularies: dict[str, dict]) -> str | None:
    """Why `vocabulary:value` is not a tag the council defined, or None when it is."""
    vocabulary, sep, value = tag.partition(":")
    vocabulary, value = vocabulary.strip(), value.strip()
    if not sep or not vocabulary or not value:
        return "is not written vocabulary:value"
    if vocabulary not in vocabularies:
        known = ", ".join(vocabularies) or "none: add reference/tags.toml"
        return f"names vocabulary '{vocabulary}', which is not in tags.toml (known: {known})"
    if value not in vocabularies[vocabulary]["values"]:
        allowed = ", ".join(vocabularies[vocabulary]["values"])
        return f"is not a value of '{vocabulary}' (allowed: {allowed})"
    return None


def _tag_rows(
    ids: pd.Series, texts: pd.Series, rows: pd.Series, subject: str, vocabularies: dict, label: str
) -> tuple[list[dict], list[str]]:
    records, problems = [], []
    for index, text in texts.items():
        seen = set()
        for tag in split_list(text):
            problem = tag_problem(tag, vocabularies)
            if problem:
                problems.append(f"{label} row {rows[index]}, column 'tags': '{tag}' {problem}")
                continue
            vocabulary, _, value = (part.strip() for part in tag.partition(":"))
            if (vocabulary, value) in seen:
                continue
            seen.add((vocabulary, value))
            records.append(
                {
                    "subject": subject,
                    "subject_id": ids[index],
                    "vocabulary": vocabulary,
                    "value": value,
                    "vocabulary_title": vocabularies[vocabulary]["title"],
                    "label": vocabularies[vocabulary]["values"][value],
                }
            )
    return records, problems


def _choice_problems(df: pd.DataFrame, rows: pd.Series, column: str, choices: list[str], label: str) -> list:
    bad = df[column].notna() & ~df[column].isin(choices)
    return [
        f"{label} row {rows[i]}, column '{column}': '{df.at[i, column]}' is not one of {', '.join(choices)}"
        for i in df.index[bad]
    ]


def load_indicator_framework(path: Path, vocabularies: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From `indicators.csv`: each indicator's measure type and source, and its tags (long).

    The columns are optional; an indicator without them is *not classified*.
    """
    df, rows = read_text_table(path)
    label = f"reference/{path.name}"
    for column in ("tags", "measure_type", "measure_source"):
        if column not in df.columns:
            df[column] = None
    problems = _choice_problems(df, rows, "measure_type", MEASURE_TYPES, label)
    problems += _choice_problems(df, rows, "measure_source", MEASURE_SOURCES, label)
    records, tag_problems = _tag_rows(df["code"], df["tags"], rows, "indicator", vocabularies, label)
    problems += tag_problems
    if problems:
        raise ReferenceDataError(problems)
    measures = df[MEASURE_COLUMNS].reset_index(drop=True)
    return measures, pd.DataFrame(records, columns=TAG_COLUMNS)


def load_action_links(
    path: Path, vocabularies: dict, indicator_codes: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From `actions.csv`: each action's tags (long) and the indicators it is meant to move."""
    if not path.is_file():
        return pd.DataFrame(columns=TAG_COLUMNS), pd.DataFrame(columns=LINK_COLUMNS)
    df, rows = read_text_table(path)
    label = f"improvement_plan/{path.name}"
    for column in ("tags", "indicator_codes", "action_id"):
        if column not in df.columns:
            df[column] = None
    records, problems = _tag_rows(df["action_id"], df["tags"], rows, "action", vocabularies, label)
    links = []
    for index, text in df["indicator_codes"].items():
        for code in split_list(text):
            if code not in indicator_codes:
                problems.append(
                    f"{label} row {rows[index]}, column 'indicator_codes': '{code}' is not an indicator "
                    "in indicators.csv"
                )
            else:
                links.append({"action_id": df.at[index, "action_id"], "indicator_code": code})
    if problems:
        raise ReferenceDataError(problems)
    return pd.DataFrame(records, columns=TAG_COLUMNS), pd.DataFrame(
        links, columns=LINK_COLUMNS
    ).drop_duplicates()


def measure_table(performance: pd.DataFrame, measures: pd.DataFrame) -> pd.DataFrame:
    """Of the due indicators with a target, how many measure each kind of thing, and how each is doing.

    One row per (source, type) group that has any, in the order of `MEASURE_GROUPS`, then the
    indicators not classified; counts of Green, Amber, Red and Not reported, and the share Green
    of those rated.
    """
    targeted = performance[performance["target"].notna() & (performance["rag_status"] != "Not due")]
    kinds = measures.set_index("code")[["measure_source", "measure_type"]]
    frame = targeted.join(kinds, on="indicator_code")
    groups = [*MEASURE_GROUPS, (None, None, "Not classified")]
    out = []
    for source, kind, name in groups:
        if source is None:
            members = frame[frame["measure_source"].isna() | frame["measure_type"].isna()]
        else:
            members = frame[(frame["measure_source"] == source) & (frame["measure_type"] == kind)]
        if members.empty:
            continue
        counts = members["rag_status"].value_counts()
        rated = int(sum(counts.get(s, 0) for s in ("Green", "Amber", "Red")))
        out.append(
            {
                "group": name,
                "measure_source": source or UNCLASSIFIED,
                "measure_type": kind or UNCLASSIFIED,
                "indicators": len(members),
                "Green": int(counts.get("Green", 0)),
                "Amber": int(counts.get("Amber", 0)),
                "Red": int(counts.get("Red", 0)),
                "Not reported": int(counts.get("Not reported", 0)),
                "percent_green": round(100 * counts.get("Green", 0) / rated, 1) if rated else None,
                "codes": ";".join(sorted(members["indicator_code"])),
            }
        )
    return pd.DataFrame(
        out,
        columns=[
            "group",
            "measure_source",
            "measure_type",
            "indicators",
            "Green",
            "Amber",
            "Red",
            "Not reported",
            "percent_green",
            "codes",
        ],
    )


def tag_counts(performance: pd.DataFrame, tags: pd.DataFrame, vocabulary: str) -> pd.DataFrame:
    """For one vocabulary, each value's due indicators by status (an indicator counts under each tag)."""
    mine = tags[(tags["subject"] == "indicator") & (tags["vocabulary"] == vocabulary)]
    due = performance[performance["rag_status"] != "Not due"][["indicator_code", "rag_status"]]
    joined = mine.merge(due, left_on="subject_id", right_on="indicator_code")
    statuses = ["Green", "Amber", "Red", "Grey", "Not reported"]
    table = joined.groupby(["value", "label", "rag_status"]).size().unstack(fill_value=0)
    table = table.reindex(columns=statuses, fill_value=0).reset_index()
    table["indicators"] = table[statuses].sum(axis=1)
    return table


def with_tag(tags: pd.DataFrame, subject: str, vocabulary: str, value: str | None = None) -> list[str]:
    """The ids of the indicators (or actions) carrying a tag of the vocabulary (a value, if given)."""
    chosen = tags[(tags["subject"] == subject) & (tags["vocabulary"] == vocabulary)]
    if value is not None:
        chosen = chosen[chosen["value"] == value]
    return sorted(set(chosen["subject_id"]))
