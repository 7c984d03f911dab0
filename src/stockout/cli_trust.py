"""The ``--allow-code`` option, shared by every command that can run a scenario (``run``,
``sweep``, ``trace``, ``optimize``), and the check behind it.

A scenario file is data: its custom policies (Python classes) run only when the user passes
``--allow-code``; see :mod:`stockout.trust` for what may run even then.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from .scenario.schema import Scenario

AllowCodeOption = Annotated[
    bool,
    typer.Option(
        "--allow-code",
        help="Let the scenario's custom policies run (Python classes in the scenario's folder "
        "or registered by installed packages). Off by default: a scenario file is data.",
    ),
]


def check_code_allowed(scenario: Scenario, allow_code: bool, folder: Path | None) -> None:
    """Stop (exit 2, through :class:`~stockout.trust.CodeNotAllowed`) before anything is made
    or run if the scenario names code and ``--allow-code`` was not given."""
    from .trust import require_allowed

    require_allowed(scenario, allow_code, folder)
