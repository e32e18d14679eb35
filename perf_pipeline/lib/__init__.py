"""Pure domain logic of the quarterly performance cycle: no Dagster imports here."""
