"""What the policy layer and the code-loading rules (``stockout.trust``) share: the error a
user's policy raises, and where a policy module's files are."""

from __future__ import annotations

from pathlib import Path


class PolicyError(Exception):
    """A user's policy could not be loaded or made an impossible decision."""


def module_files(top: str, search_dir: Path) -> list[Path]:
    """The source files of module ``top`` in ``search_dir``: a module ``top.py``, or every
    ``.py`` file of a package ``top/``; none if the folder has no such module."""
    single = search_dir / f"{top}.py"
    package = search_dir / top
    if single.is_file():
        return [single]
    if (package / "__init__.py").is_file():
        return sorted(f for f in package.rglob("*.py") if "__pycache__" not in f.parts)
    return []
