"""Comparator groups: nearest neighbours, same type, region, England, and groups named in a CSV."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from perf_pipeline.lib.validation import ReferenceDataError

BUILT_IN_GROUPS = ["nearest_neighbours", "same_type", "region", "england"]
NEAREST_NEIGHBOURS, SAME_TYPE, REGION, ENGLAND = BUILT_IN_GROUPS
NEAREST_NEIGHBOURS_FILE = "nearest_neighbours.json"
GROUPS_CSV = "comparator_groups.csv"

# Oflog files every City of London row among the London Boroughs (ASC_data.csv `Entity_Name`), so
# for "same type" the City corporation is a London borough. Unitaries, metropolitan districts and
# London boroughs stay apart, as in Oflog's `Entity_Name` and LG Inform's standard groups.
COMPARISON_TYPE = {"CC": "LBO"}

GROUP_COLUMNS = [
    "authority_code",
    "group",
    "member_code",
    "member_name",
    "member_type",
    "valid_from",
    "valid_to",
    "member_status",
    "basis",
]


def read_nearest_neighbours(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An `NN.json`-style mapping `{authority: [members...]}`: members in order, each once.

    Returns the pairs (`authority_code, member_code`) and the repeats removed, so they can be
    reported: the published NN.json names Folkestone and Hythe twice in 24 districts' lists, and
    its own list of 34 entries holds every member twice.
    """
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
        pairs = pd.DataFrame(
            [
                (str(owner).strip(), str(member).strip())
                for owner, members in mapping.items()
                for member in members
            ],
            columns=["authority_code", "member_code"],
        )
    except (json.JSONDecodeError, AttributeError, TypeError) as exc:
        raise ReferenceDataError(
            [f"reference/{path.name}: not a mapping of codes to lists of codes ({exc})"]
        ) from None
    counts = pairs.groupby(["authority_code", "member_code"], sort=False).size()
    repeats = counts[counts > 1].rename("times_listed").reset_index()
    return pairs.drop_duplicates().reset_index(drop=True), repeats


def read_group_csv(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`comparator_groups.csv`: `group, authority_code`; returns the members and the repeats removed."""
    if not path.is_file():
        raise ReferenceDataError([f"reference/{path.name}: the file is missing"])
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in ("group", "authority_code") if c not in df.columns]
    if missing:
        raise ReferenceDataError([f"reference/{path.name}: column '{c}' is missing" for c in missing])
    df = df[["group", "authority_code"]].apply(lambda col: col.str.strip())
    df = df[df.ne("").all(axis=1)]
    derived = sorted(set(df["group"]) & {SAME_TYPE, REGION, ENGLAND})
    if derived:
        raise ReferenceDataError(
            [
                f"reference/{path.name}: '{g}' is a group the pipeline builds from authorities.csv; "
                "give yours another name"
                for g in derived
            ]
        )
    counts = df.groupby(["group", "authority_code"], sort=False).size()
    repeats = counts[counts > 1].rename("times_listed").reset_index()
    return df.drop_duplicates().reset_index(drop=True), repeats


def build_comparator_groups(
    authorities: pd.DataFrame,
    council_code: str,
    nearest_neighbours: pd.DataFrame | None = None,
    csv_groups: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every authority's comparator groups, one row per (authority, group, member).

    - `nearest_neighbours`: the published lists, as they are (an abolished or unknown member stays
      a member: it has no value, so it counts as missing; successors are not substituted).
    - `same_type`, `region`, `england`: from `authorities.csv`, each member valid from its
      `start_date` to its `end_date`, so an abolished authority is a member only for periods it
      existed in, and its successor only from its creation.
    - a CSV group: for each listed authority, and for the council (added if not listed, as a list
      of the council's own comparators is usually written without it). A CSV group named
      `nearest_neighbours` is the council's own list (lists of neighbours are not symmetric) and
      replaces the mapping's list for the council.
    Every authority is a member of its own groups.
    """
    info = authorities.assign(
        member_type=authorities["authority_type"].replace(COMPARISON_TYPE),
        member_status=np.where(
            authorities["end_date"].notna(),
            "abolished "
            + authorities["end_date"].dt.strftime("%Y-%m-%d").fillna("")
            + (", replaced by " + authorities["replaced_by"]).fillna(""),
            "",
        ),
    ).rename(columns={"gss_code": "member_code", "name": "member_name"})
    derived = info.rename(columns={"start_date": "valid_from", "end_date": "valid_to"})
    frames = []
    for group, key in ((SAME_TYPE, "member_type"), (REGION, "region"), (ENGLAND, None)):
        members = derived.dropna(subset=[key]) if key else derived
        owners = members[["member_code", *([key] if key else [])]].rename(
            columns={"member_code": "authority_code"}
        )
        joined = owners.merge(members, on=key) if key else owners.merge(members, how="cross")
        frames.append(joined.assign(group=group, basis="authorities.csv"))
    listed = []
    if nearest_neighbours is not None and len(nearest_neighbours):
        listed.append(nearest_neighbours.assign(group=NEAREST_NEIGHBOURS, basis=NEAREST_NEIGHBOURS_FILE))
    if csv_groups is not None and len(csv_groups):
        with_council = pd.concat(
            [
                csv_groups.rename(columns={"authority_code": "member_code"}),
                csv_groups[["group"]].drop_duplicates().assign(member_code=council_code),
            ]
        ).drop_duplicates()
        symmetric = with_council[with_council["group"] != NEAREST_NEIGHBOURS]
        owners = csv_groups.loc[csv_groups["group"] != NEAREST_NEIGHBOURS, ["group", "authority_code"]]
        owners = pd.concat(
            [owners, symmetric[["group"]].drop_duplicates().assign(authority_code=council_code)]
        )
        from_csv = pd.concat(
            [
                owners.drop_duplicates().merge(symmetric, on="group"),
                with_council[with_council["group"] == NEAREST_NEIGHBOURS].assign(authority_code=council_code),
            ]
        ).assign(basis=GROUPS_CSV)
        replaced = pd.MultiIndex.from_frame(from_csv[["authority_code", "group"]])
        listed = [  # a list in the CSV replaces the mapping's for the same authority and group
            frame[~pd.MultiIndex.from_frame(frame[["authority_code", "group"]]).isin(replaced)]
            for frame in listed
        ]
        listed.append(from_csv)
    if listed:
        lists = pd.concat(listed, ignore_index=True)
        selves = lists[["authority_code", "group", "basis"]].drop_duplicates(["authority_code", "group"])
        lists = pd.concat([lists, selves.assign(member_code=selves["authority_code"])])
        lists = lists.merge(
            info[["member_code", "member_name", "member_type", "member_status"]], on="member_code", how="left"
        )
        lists["member_type"] = lists["member_type"].fillna(lists["member_code"].str[:3])
        lists["member_status"] = lists["member_status"].fillna("not in authorities.csv")
        frames.append(lists.assign(valid_from=pd.NaT, valid_to=pd.NaT))
    groups = pd.concat(frames, ignore_index=True)
    groups = groups.drop_duplicates(["authority_code", "group", "member_code"])
    for column in ("valid_from", "valid_to"):
        groups[column] = pd.to_datetime(groups[column])
    return groups[GROUP_COLUMNS].reset_index(drop=True)
