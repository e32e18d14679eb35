"""The framework's shape: tags and measure types, change programmes, and the strategic risk register."""

from typing import TYPE_CHECKING

import dagster as dg

from perf_pipeline.defs.common import (
    KINDS,
    OWNERS,
    QUARTERLY_TABLE,
    frame_version,
    reference_checked,
    with_quarter,
)
from perf_pipeline.defs.conditions import FILES_READ
from perf_pipeline.defs.partitions import quarter_of, quarterly_partitions
from perf_pipeline.defs.performance import ASSESSED_WINDOW
from perf_pipeline.defs.resources import WAREHOUSE_POOL, DataRootResource

if TYPE_CHECKING:
    import pandas as pd


def _out(description: str, quarterly: bool = False) -> dg.AssetOut:
    """A register is read again when the framework's files change (`framework_files`); a quarter's
    status is rebuilt like every output. Each is versioned by its content, so what reads it is
    rebuilt only when it changed (`defs/conditions.py`)."""
    return dg.AssetOut(
        description=description,
        code_version="1",
        owners=OWNERS,
        kinds=KINDS,
        metadata={"partition_expr": "quarter_start"} if quarterly else None,
        automation_condition=None if quarterly else FILES_READ,
    )


# The registers: reference tables read from the framework's files, one writer at a time.
REGISTER = {"group_name": "reference", "pool": WAREHOUSE_POOL, "deps": ["framework_files"]}


def _versioned(df: "pd.DataFrame", name: str, **metadata) -> dg.Output:
    return dg.Output(df, output_name=name, data_version=frame_version(df), metadata=metadata or None)


@dg.multi_asset(
    outs={
        "indicator_measures": _out("Each indicator's measure type (outcome, output, process) and source."),
        "framework_tags": _out("Every tag of every indicator and improvement action, from tags.toml."),
        "action_indicator_links": _out("The indicators each improvement plan action is meant to move."),
    },
    **REGISTER,
)
def indicator_framework(data_root: DataRootResource, indicator_catalogue):
    """What each indicator measures and the council's vocabularies it is tagged with, checked."""
    import pandas as pd

    from perf_pipeline.lib.framework import load_action_links, load_indicator_framework, load_tag_vocabularies

    paths = data_root.paths
    files = [
        paths.reference / "tags.toml",
        paths.reference / "indicators.csv",
        paths.improvement_plan / "actions.csv",
    ]
    with reference_checked():
        vocabularies = load_tag_vocabularies(files[0])
        measures, tags = load_indicator_framework(files[1], vocabularies)
        action_tags, links = load_action_links(files[2], vocabularies, set(indicator_catalogue["code"]))
    all_tags = pd.concat([tags, action_tags], ignore_index=True)
    yield _versioned(
        measures,
        "indicator_measures",
        by_type=dg.MetadataValue.json(
            measures["measure_type"].fillna("not classified").value_counts().to_dict()
        ),
    )
    yield _versioned(
        all_tags,
        "framework_tags",
        vocabularies=dg.MetadataValue.json({k: v["title"] for k, v in vocabularies.items()}),
        tags=len(all_tags),
    )
    yield _versioned(links, "action_indicator_links", links=len(links))


@dg.multi_asset(
    outs={
        "change_programmes": _out(
            "The change programmes: sponsor, aim and the indicators that show progress."
        ),
        "programme_milestones": _out(
            "Each programme's milestones: owner, baseline and forecast dates, completion."
        ),
        "programme_benefits": _out(
            "The value each programme promised an indicator would reach, and by when."
        ),
    },
    **REGISTER,
)
def change_programme_register(data_root: DataRootResource, indicator_catalogue):
    """The council's change programmes as described in programmes.csv, milestones.csv and benefits.csv."""
    from perf_pipeline.lib.framework_programmes import load_benefits, load_milestones, load_programmes

    reference = data_root.paths.reference
    codes = set(indicator_catalogue["code"])
    with reference_checked():
        programmes = load_programmes(reference, codes)
        ids = list(programmes["programme_id"])
        milestones = load_milestones(reference, ids)
        benefits = load_benefits(reference, ids, codes)
    yield _versioned(programmes, "change_programmes")
    yield _versioned(milestones, "programme_milestones")
    yield _versioned(benefits, "programme_benefits")


@dg.multi_asset(
    outs={
        "risk_register": _out(
            "The strategic risks: owner, likelihood and impact, target, controls, evidence."
        ),
        "risk_reviews": _out("Every later review of a risk's likelihood and impact (append-only)."),
    },
    **REGISTER,
)
def strategic_risk_register(data_root: DataRootResource, indicator_catalogue):
    """The strategic risk register and its reviews, linked to indicators and improvement actions."""
    import pandas as pd

    from perf_pipeline.lib.framework_risks import load_risk_reviews, load_risks
    from perf_pipeline.lib.reference import read_text_table

    paths = data_root.paths
    actions = paths.improvement_plan / "actions.csv"
    with reference_checked():
        plan = read_text_table(actions)[0] if actions.is_file() else pd.DataFrame()
        action_ids = set(plan.get("action_id", pd.Series(dtype=str)).dropna())
        risks = load_risks(paths.reference, set(indicator_catalogue["code"]), action_ids)
        reviews = load_risk_reviews(paths.reference, list(risks["risk_id"]))
    yield _versioned(risks, "risk_register", risks=len(risks))
    yield _versioned(reviews, "risk_reviews", reviews=len(reviews))


@dg.multi_asset(
    outs={
        "milestone_status": _out(
            "Every programme milestone as at the quarter's end: complete, on track, at risk or slipped.", True
        ),
        "benefit_status": _out(
            "Every promised benefit as at the quarter's end: realised so far against promised.", True
        ),
    },
    group_name="framework",
    partitions_def=quarterly_partitions,
    pool=WAREHOUSE_POOL,
    ins={"indicator_performance": dg.AssetIn(partition_mapping=ASSESSED_WINDOW)},
)
def programme_status(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    change_programmes,
    programme_milestones,
    programme_benefits,
    indicator_performance,
    indicator_catalogue,
):
    """The change programmes as at the quarter's last day: milestones and benefits."""
    from perf_pipeline.lib.framework_programmes import benefit_status, milestone_status
    from perf_pipeline.lib.publish import publish_csv

    quarter = quarter_of(context)
    milestones = milestone_status(programme_milestones, change_programmes, quarter.end)
    benefits = benefit_status(programme_benefits, indicator_performance, indicator_catalogue, quarter)
    folder = data_root.paths.reports_for(quarter)
    publish_csv(milestones, folder / "programme-milestones.csv")
    publish_csv(benefits, folder / "programme-benefits.csv")
    yield _versioned(
        with_quarter(milestones, quarter),
        "milestone_status",
        by_status=dg.MetadataValue.json(milestones["status"].value_counts().to_dict()),
    )
    yield _versioned(
        with_quarter(benefits, quarter),
        "benefit_status",
        by_status=dg.MetadataValue.json(benefits["status"].value_counts().to_dict()),
    )


# The quarter's own assessment only (the evidence is this quarter's RAG): a reassessed earlier
# quarter does not make this quarter's risks stale.
@dg.asset(group_name="framework", **QUARTERLY_TABLE)
def risk_status(
    context: dg.AssetExecutionContext,
    data_root: DataRootResource,
    risk_register,
    risk_reviews,
    indicator_performance,
    improvement_plan_status,
) -> dg.Output:
    """Each strategic risk at the quarter's end: score, trend, evidence, and a flag where they disagree."""
    from perf_pipeline.lib.framework_risks import risk_status as risks_as_at
    from perf_pipeline.lib.publish import publish_csv

    quarter = quarter_of(context)
    status = risks_as_at(
        risk_register, risk_reviews, indicator_performance, improvement_plan_status, quarter.end
    )
    publish_csv(status, data_root.paths.reports_for(quarter) / "risks.csv")
    return dg.Output(
        with_quarter(status, quarter),
        # Its content: a quarter whose risks read the same is not republished (`defs/conditions.py`).
        data_version=frame_version(status),
        metadata={"risks": len(status), "flagged": int(status["flag"].ne("").sum())},
    )
