"""Which code a scenario may run: the trust model.

A scenario file is data. Loading, validating, running, sweeping, tracing and reporting a
scenario run no code from it, with one exception the user must ask for: a custom availability
policy (``availability = "custom"``, ``class = "module:Class"``) is Python code, and it loads
only when the user allows it (``--allow-code`` on the command line, ``allow_code=True`` in the
API); otherwise the command stops (exit 2) naming the policy, the module and how to allow it.

Even when allowed, ``module:Class`` resolves only to

- a module in the scenario's own folder (``module.py``, or a package folder ``module/``), whose
  name is not that of a module of Python's standard library or of a module already imported
  from elsewhere; or
- a class that an installed package registers under the entry-point group
  :data:`ENTRY_POINT_GROUP` (``stockout.policies``), named by the entry point's value.

and it must be a *class defined in that module* with a method ``on_shortage``: this is checked
on the class itself, before it is called, so ``class = "shutil:rmtree"`` or
``"subprocess:Popen"`` can never be called with the scenario's options.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .policies.errors import PolicyError, module_files

if TYPE_CHECKING:
    from .scenario.schema import Scenario

__all__ = [
    "ENTRY_POINT_GROUP",
    "CodeNotAllowed",
    "PolicyCode",
    "code_of",
    "describe",
    "require_allowed",
    "resolve_class",
]

#: The entry-point group under which installed packages register policy classes.
ENTRY_POINT_GROUP = "stockout.policies"

HOW_TO_ALLOW = (
    "if you trust this code, run again with --allow-code (allow_code=True in Python)"
)


class CodeNotAllowed(PolicyError):
    """The scenario names code (a custom policy) and the user did not allow code to run."""


@dataclass(frozen=True)
class PolicyCode:
    """The code one custom policy would run: where its class would come from."""

    policy: str
    class_path: str
    #: "folder" (a module next to the scenario), "package" (an installed entry point) or
    #: "missing" (found nowhere: it would not load)
    origin: str
    #: the module's files, or the distribution that registers it
    where: str

    def text(self) -> str:
        where = f"({self.where})" if self.origin == "missing" else f"from {self.where}"
        return f"policy '{self.policy}': class {self.class_path} {where}"


def _entry_point(class_path: str) -> metadata.EntryPoint | None:
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.value.replace(" ", "") == class_path or ep.name == class_path:
            return ep
    return None


def _locate(policy: str, class_path: str, search_dir: Path | None) -> PolicyCode:
    top = class_path.partition(":")[0].split(".")[0]
    files = module_files(top, search_dir) if search_dir is not None else []
    if files:
        shown = str(files[0]) if len(files) == 1 else f"{search_dir / top}/ ({len(files)} files)"
        return PolicyCode(policy, class_path, "folder", shown)
    ep = _entry_point(class_path)
    if ep is not None:
        dist = getattr(ep, "dist", None)
        name = f"{dist.name} {dist.version}" if dist is not None else ep.module
        return PolicyCode(policy, class_path, "package", f"installed package {name}")
    where = f"the folder {search_dir.resolve()}" if search_dir is not None else "no folder"
    return PolicyCode(
        policy, class_path, "missing",
        f"not found: no {top}.py or package {top}/ in {where}, and no installed package "
        f"registers it under the entry-point group '{ENTRY_POINT_GROUP}'",
    )


def code_of(scenario: Scenario, search_dir: Path | None) -> list[PolicyCode]:
    """The code the scenario's custom policies would run, one entry per custom policy."""
    from .scenario.schema import CustomPolicy

    return [
        _locate(p.name, p.class_path, search_dir)
        for p in scenario.policies
        if isinstance(p, CustomPolicy)
    ]


def describe(scenario: Scenario, search_dir: Path | None) -> list[str]:
    """One line per custom policy: what code it would run (for ``stockout validate``)."""
    return [code.text() for code in code_of(scenario, search_dir)]


def require_allowed(scenario: Scenario, allow_code: bool, search_dir: Path | None) -> None:
    """Raise :class:`CodeNotAllowed` if the scenario names code and ``allow_code`` is false."""
    if allow_code:
        return
    codes = code_of(scenario, search_dir)
    if not codes:
        return
    listed = "".join(f"\n  {code.text()}" for code in codes)
    raise CodeNotAllowed(
        f"the scenario runs Python code, and a scenario file is data: it runs no code unless "
        f"you allow it.{listed}\n{HOW_TO_ALLOW}"
    )


# ---------------------------------------------------------------------------------------------
# Resolving a class, strictly
# ---------------------------------------------------------------------------------------------


def _inside(path: str | None, folder: Path) -> bool:
    if not path:
        return False
    try:
        return Path(path).resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


def _import_from_folder(module_name: str, search_dir: Path) -> Any:
    """Import ``module_name`` from the files in ``search_dir``, never from anywhere else."""
    top = module_name.split(".")[0]
    if top in sys.stdlib_module_names or top in ("stockout", "builtins"):
        raise PolicyError(
            f"module '{top}' in {search_dir} has the name of a module of Python or stockout: "
            "rename your module"
        )
    cached = sys.modules.get(top)
    if cached is not None and not _inside(getattr(cached, "__file__", None), search_dir):
        if getattr(cached, "__stockout_stamp__", None) is None:
            raise PolicyError(
                f"module '{top}' in {search_dir} has the name of an installed module already "
                f"in use ({getattr(cached, '__file__', None) or top}): rename your module"
            )
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[name]  # a policy module of another folder: import this one
        importlib.invalidate_caches()
    folder = str(search_dir)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - any import failure is the user's
        raise PolicyError(
            f"cannot import module '{module_name}': {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        if added:
            sys.path.remove(folder)
    if not _inside(getattr(module, "__file__", None), search_dir):
        raise PolicyError(f"module '{module_name}' did not come from {search_dir}")
    return module


def check_policy_class(found: Any, class_path: str, home: str, where: str) -> type:
    """``found`` if it is a class defined in package ``home`` with a method ``on_shortage``;
    otherwise :class:`PolicyError`. Nothing of ``found`` is called."""
    class_name = class_path.partition(":")[2]
    if not isinstance(found, type):
        raise PolicyError(f"module '{class_path.partition(':')[0]}' ({where}) has no class "
                          f"'{class_name}'")
    defined_in = vars(found).get("__module__")
    if not isinstance(defined_in, str) or not (
        defined_in == home or defined_in.startswith(home + ".")
    ):
        raise PolicyError(
            f"{class_path} is not a policy class of {home} (it is defined in {defined_in!r}): "
            "only classes defined in the policy's own module can be used"
        )
    method = inspect.getattr_static(found, "on_shortage", None)
    if not (inspect.isfunction(method) or isinstance(method, staticmethod | classmethod)):
        raise PolicyError(f"{class_path} has no method on_shortage(shortage)")
    return found


def resolve_class(class_path: str, search_dir: Path | None) -> type:
    """The policy class named ``module:Class``: from the scenario's folder, else from an
    installed package's ``stockout.policies`` entry point; checked, never called."""
    module_name, _, class_name = class_path.partition(":")
    top = module_name.split(".")[0]
    if search_dir is not None and module_files(top, search_dir):
        module = _import_from_folder(module_name, search_dir)
        where = getattr(module, "__file__", None) or module_name
        found = inspect.getattr_static(module, class_name, None)
        return check_policy_class(found, class_path, top, where)
    ep = _entry_point(class_path)
    if ep is None:
        missing = _locate("", class_path, search_dir).where
        raise PolicyError(f"class {class_path}: cannot import module '{module_name}': {missing}")
    try:
        found = ep.load()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the package's import failed
        raise PolicyError(
            f"cannot import module '{ep.module}': {type(exc).__name__}: {exc}"
        ) from exc
    return check_policy_class(found, class_path, ep.module.split(".")[0], ep.module)
