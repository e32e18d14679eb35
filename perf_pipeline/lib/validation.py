"""Turn pandera's failure cases into sentences that name the file, the row and the column."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a schema brings pandera and pandas with it: the definitions load without them
    import pandas as pd
    import pandera.pandas as pa

_BUILT_IN = {
    "not_nullable": "is required but blank",
    "field_uniqueness": "appears more than once; it must be unique",
    "multiple_fields_uniqueness": "repeats another row; the combination must be unique",
    "column_in_dataframe": "the required column is missing",
    "column_in_schema": "is not a column this file may have",
}


class ReferenceDataError(ValueError):
    """Reference data that cannot be used; carries one sentence per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def failure_messages(
    failure_cases: pd.DataFrame, file_label: str, row_numbers: pd.Series | None = None
) -> list[str]:
    """One sentence per failure case: `file row N, column 'c': 'value' <problem>`.

    `row_numbers` maps the frame's index to the row a spreadsheet program shows.
    """
    import pandas as pd

    messages = []
    for case in failure_cases.itertuples(index=False):
        column = case.column
        check = str(case.check)
        problem = _BUILT_IN.get(check.split("(")[0], check)
        if check == "column_in_dataframe":
            messages.append(f"{file_label}: column '{case.failure_case}' {problem}")
            continue
        where = file_label
        index = case.index
        if index is not None and not pd.isna(index):
            row = row_numbers.loc[index] if row_numbers is not None else index
            where += f" row {int(row)}"
        if column is not None:
            where += f", column '{column}'"
        value = case.failure_case
        shown = "" if value is None or (isinstance(value, float) and pd.isna(value)) else f"'{value}' "
        messages.append(f"{where}: {shown}{problem}")
    return sorted(set(messages), key=messages.index)


def validate_or_raise(
    schema: pa.DataFrameSchema,
    df: pd.DataFrame,
    file_label: str,
    row_numbers: pd.Series | None = None,
) -> pd.DataFrame:
    from pandera.errors import SchemaErrors

    try:
        return schema.validate(df, lazy=True)
    except SchemaErrors as errors:
        raise ReferenceDataError(failure_messages(errors.failure_cases, file_label, row_numbers)) from None


def schema_failures(schema: pa.DataFrameSchema, df: pd.DataFrame) -> pd.DataFrame:
    """The failure cases of a lazy validation (empty when the frame passes)."""
    import pandas as pd
    from pandera.errors import SchemaErrors

    try:
        schema.validate(df, lazy=True)
    except SchemaErrors as errors:
        return errors.failure_cases
    return pd.DataFrame(columns=["schema_context", "column", "check", "failure_case", "index"])
