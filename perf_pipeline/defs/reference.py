"""Reference data: what the council measures, against which targets, compared with whom."""

import dagster as dg

from perf_pipeline.defs.common import KINDS, OWNERS, files_version, reference_checked, reference_failure
from perf_pipeline.defs.conditions import REFERENCE_REREAD
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource
from perf_pipeline.lib.validation import ReferenceDataError

# Read again by the automation when a reference file changes (`defs/conditions.py`).
REFERENCE = {
    "group_name": "reference",
    "owners": OWNERS,
    "kinds": KINDS,
    "pool": WAREHOUSE_POOL,
    "automation_condition": REFERENCE_REREAD,
}


@dg.asset(code_version="1", deps=["reference_files"], **REFERENCE)
def services(data_root: DataRootResource) -> dg.Output:
    """The council's services, with their directorate and the officer who owns each return."""
    from perf_pipeline.lib.reference import load_services

    path = data_root.paths.reference / "services.csv"
    with reference_checked():
        df = load_services(path)
    return dg.Output(df, data_version=files_version([path]))


@dg.asset(code_version="1", deps=["reference_files"], **REFERENCE)
def indicator_catalogue(data_root: DataRootResource, services) -> dg.Output:
    """Every indicator the council reports: definition, unit, polarity, owner and RAG rule."""
    import pandas as pd

    from perf_pipeline.lib.reference import load_indicators, load_rag_rules

    reference = data_root.paths.reference
    files = [reference / "indicators.csv", reference / "rag_rules.toml"]
    with reference_checked():
        rules = load_rag_rules(reference / "rag_rules.toml")
        df = load_indicators(reference / "indicators.csv", services, rules)
    rule_table = pd.DataFrame.from_dict(rules, orient="index").add_prefix("rule_")
    df = df.merge(rule_table, left_on="rag_rule", right_index=True, how="left")
    return dg.Output(
        df,
        data_version=files_version(files),
        metadata={
            "indicators": len(df),
            "by_level": dg.MetadataValue.json(df["level"].value_counts().to_dict()),
            "by_service": dg.MetadataValue.json(df["service"].value_counts().to_dict()),
        },
    )


@dg.asset(code_version="1", deps=["reference_files"], **REFERENCE)
def indicator_targets(data_root: DataRootResource, indicator_catalogue) -> dg.Output:
    """Every target ever set, when and why; a later one supersedes but never erases an earlier."""
    from perf_pipeline.lib.reference import load_targets

    path = data_root.paths.reference / "targets.csv"
    with reference_checked():
        df = load_targets(path, indicator_catalogue)
    df["quarter"] = df["quarter"].fillna("")
    df = df.sort_values(["code", "year", "quarter", "set_on"]).reset_index(drop=True)
    df["superseded_on"] = df.groupby(["code", "year", "quarter"])["set_on"].shift(-1)
    return dg.Output(
        df,
        data_version=files_version([path]),
        metadata={"targets": len(df), "superseded": int(df["superseded_on"].notna().sum())},
    )


@dg.asset(code_version="1", deps=["reference_files", "council_settings"], **REFERENCE)
def authorities(data_root: DataRootResource) -> dg.Output:
    """English local authorities with their type, region and successors, for comparator groups."""
    from perf_pipeline.lib.reference import load_authorities

    reference = data_root.paths.reference
    council = data_root.council()
    with reference_checked():
        df = load_authorities(reference / "authorities.csv")
    if council["gss_code"] not in set(df["gss_code"]):
        raise reference_failure(
            ReferenceDataError([f"council.toml: gss_code {council['gss_code']} is not in authorities.csv"])
        )
    return dg.Output(
        df,
        data_version=files_version([reference / "authorities.csv", reference / "council.toml"]),
        metadata={"authorities": len(df), "council": council["name"]},
    )
