"""Scenario files: the schema (pydantic) and the TOML loader with located errors."""
