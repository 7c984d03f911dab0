"""The JSON Schema of the scenario format (``stockout schema``), for editors and linters.

Editors that understand JSON Schema for TOML (e.g. Taplo / Even Better TOML) use it to complete
keys and flag typos while a scenario is written. Cross-references (a supplier named by a product
exists, ...) cannot be expressed in JSON Schema: ``stockout validate`` checks those.
"""

from __future__ import annotations

from typing import Any

from stockout.scenario.schema import Scenario

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file: keys as written in files (``class``, not
    ``class_path``), a dict that ``json.dumps(..., allow_nan=False)`` accepts."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema.pop("title", None)
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "stockout scenario",
        "description": (
            "A stockout scenario file (TOML): products, customers, suppliers, lanes and the "
            "availability policies to compare. Times in days, rates per day."
        ),
        **schema,
    }
