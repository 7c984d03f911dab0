"""TOML scenario files to validated :class:`Scenario` objects, with located errors.

Every way a load can fail (no file, not text, broken TOML, wrong keys or values, dangling
references) ends in one :class:`ScenarioError` that lists every problem found, each with the
file, the key path and, where it can be found, the line::

    shop.toml:12: products[widget].price: must be at least 0, got -5
    shop.toml:40: suppliers[acme].lead_time_days.meen: unknown key 'meen'; did you mean 'mean'?

The file is only parsed (``tomllib``), never executed: a custom policy class is only named here,
and its code runs later only if the user allows it (:mod:`stockout.trust`). What is parsed is
bounded first: a file must be a regular file of at most :data:`MAX_FILE_BYTES`, and a key of more
than :data:`MAX_KEY_PARTS` dotted parts is refused before ``tomllib`` sees it (it takes time and
memory quadratic in the parts).
"""

from __future__ import annotations

import bisect
import codecs
import math
import os
import re
import stat
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from stockout.scenario.errors import (
    DataPath,
    Problem,
    ScenarioError,
    best_member,
    describe,
    key_path_text,
    locate,
    node_at,
    plain_message,
)
from stockout.scenario.jsonschema import json_schema
from stockout.scenario.schema import (
    ReferenceProblem,
    Scenario,
    ScenarioReferenceError,
    reference_problems,
)

__all__ = [
    "ScenarioError",
    "json_schema",
    "key_lines",
    "load_scenario",
    "load_scenario_text",
    "scenario_from_dict",
]

#: The largest scenario file read: real ones are a few kilobytes.
MAX_FILE_BYTES = 1_000_000
#: The most parts a dotted key (``a.b.c``) may have; the deepest real key has six.
MAX_KEY_PARTS = 64

EMPTY_FILE = (
    "the file is empty: a scenario needs at least [scenario] name and horizon_days, "
    "and one [[products]]"
)
NAN = "must be a number, got nan"
TOO_LARGE = "the number is too large (more than 1.8e308)"


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read, parse and validate a scenario file. Raises :class:`ScenarioError`."""
    source = os.fspath(path)
    return load_scenario_text(_read_text(Path(path), source), source)


def load_scenario_text(text: str, source: str = "<text>") -> Scenario:
    """Parse and validate scenario TOML; ``source`` names it in error messages."""
    if not text.strip():
        raise ScenarioError([Problem(source, "", EMPTY_FILE)])
    _check_key_depth(text, source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([_toml_problem(exc, text, source)]) from None
    except RecursionError:
        raise ScenarioError([Problem(source, "", "not valid TOML: nested too deeply")]) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ScenarioError([Problem(source, "", f"not valid TOML: {exc}")]) from None
    return _validate(data, source, key_lines(text))


def scenario_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Scenario:
    """Validate a scenario given as plain data (as TOML would give it), e.g. a merged variant.

    Validation is strict about types, as in a file: whole numbers for counts (``100``, not
    ``100.0``), numbers not strings, ``true``/``false`` not 0/1.
    """
    return _validate(data, source, None)


# --------------------------------------------------------------------------------------------
# Reading and parsing
# --------------------------------------------------------------------------------------------


def _read_text(path: Path, source: str) -> str:
    def fail(message: str, line: int | None = None) -> ScenarioError:
        return ScenarioError([Problem(source, "", message, line)])

    try:
        raw = _read_bounded(path, source)
    except ScenarioError:
        raise
    except FileNotFoundError:
        raise fail("no such file") from None
    except IsADirectoryError:
        raise fail("is a directory, not a scenario file") from None
    except PermissionError:
        raise fail("permission denied: the file cannot be read") from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise fail(f"cannot read the file: {reason}") from None
    if b"\x00" in raw:
        raise fail("is not a text file (it contains binary data): a scenario is TOML text")
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise fail(
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x}): save the file as UTF-8", line
        ) from None


def _read_bounded(path: Path, source: str) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES, checked before reading: a device
    (``/dev/zero``), a pipe or a huge file is refused, never read until memory runs out."""
    with open(path, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(mode):
            raise ScenarioError([Problem(
                source, "", "is not a regular file (a device, a pipe or a socket): give the path "
                "of a scenario file")])
        raw = handle.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError([Problem(
            source, "", f"is larger than {MAX_FILE_BYTES:,} bytes, the most a scenario file may "
            "be (real ones are a few kilobytes): is it the right file?")])
    return raw


# strings and comments (skipped), and what ends a key: = , { } [ ] and newlines
_KEY_TOKENS = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:\\.|[^"\\\n])*"|\'[^\'\n]*\'|#[^\n]*'
    r"|(\.)|[=,{}\[\]\n]"
)


def _check_key_depth(text: str, source: str) -> None:
    """Refuse a dotted key of more than MAX_KEY_PARTS parts, in one linear pass."""
    dots = 0
    for match in _KEY_TOKENS.finditer(text):
        if match.group(1) is None:
            if match.group()[0] in "=,{}[]\n":
                dots = 0
            continue
        dots += 1
        if dots >= MAX_KEY_PARTS:
            line = text.count("\n", 0, match.start()) + 1
            raise ScenarioError([Problem(
                source, "", f"a key with more than {MAX_KEY_PARTS} dotted parts: no scenario "
                "key is that deep", line)])


_TOML_WHERE = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")


def _toml_problem(exc: tomllib.TOMLDecodeError, text: str, source: str) -> Problem:
    message = str(exc)
    line: int | None = None
    where = _TOML_WHERE.search(message)
    if where:
        message = message[: where.start()]
        if where.group(1):
            line = int(where.group(1))
            message += f" (column {where.group(2)})"
    message = message[:1].lower() + message[1:]
    if line is None:
        duplicates = _Scanner(text).run().duplicates
        if duplicates:
            path, line = duplicates[0]
            message = f"{key_path_text({}, path)} is defined twice"
    return Problem(source, "", f"not valid TOML: {message}", line)


# --------------------------------------------------------------------------------------------
# Validation and located problems
# --------------------------------------------------------------------------------------------


def _validate(data: Any, source: str, lines: Mapping[DataPath, int] | None) -> Scenario:
    if not isinstance(data, Mapping):
        got = describe(data)
        raise ScenarioError([Problem(source, "", f"expected a table of scenario keys, got {got}")])
    if not data:
        raise ScenarioError([Problem(source, "", EMPTY_FILE)])
    nans = _nan_paths(data)
    found: list[tuple[DataPath, str]] = [(p, NAN) for p in nans]
    huge = _huge_paths(data)
    if huge:  # validated as inf (which every bound refuses): no float() of them overflows
        data = _replace(data, huge)
        nans |= huge
        found += [(p, TOO_LARGE) for p in huge]
    try:
        scenario = Scenario.model_validate(data, strict=True)
    except ValidationError as exc:
        found += _field_problems(exc.errors(), data)
    except RecursionError:
        found.append(((), "the scenario is nested too deeply to read"))
    else:
        if not found:
            return scenario
    found = [(p, m) for p, m in found if p not in nans or m in (NAN, TOO_LARGE)]
    problems: dict[tuple[str, str], Problem] = {}
    for path, message in found:
        text = key_path_text(data, path)
        line = _line_of(lines, path) if lines is not None else None
        problems.setdefault((text, message), Problem(source, text, message, line))
    ordered = sorted(problems.values(), key=lambda p: (p.line is None, p.line or 0))
    raise ScenarioError(ordered)


def _field_problems(
    errors: list[ErrorDetails], data: Mapping[str, Any]
) -> list[tuple[DataPath, str]]:
    """pydantic's errors as (data path, message), plus every cross-reference problem."""
    found: list[tuple[DataPath, str]] = []
    references: tuple[ReferenceProblem, ...] | None = None
    chosen: dict[tuple[Any, ...], type] = {}
    for err in errors:
        error = (err.get("ctx") or {}).get("error")
        if isinstance(error, ScenarioReferenceError):
            references = error.problems
            continue
        where = locate(err["loc"], Scenario)
        if not _meant(where.choices, data, chosen):
            continue
        found.append(plain_message(err, where, data))
    if references is None:  # field errors stopped the model check: run it on the plain data
        references = tuple(reference_problems(data))
    for problem in references:
        found.append(_reference_problem(problem, data))
    return found


def _meant(
    choices: tuple[tuple[tuple[Any, ...], type, tuple[type, ...]], ...],
    data: Any,
    chosen: dict[tuple[Any, ...], type],
) -> bool:
    """Whether an error comes from the member of each plain union the user meant (pydantic
    reports every member's errors; only the closest member's are worth reading)."""
    for prefix, member, members in choices:
        if prefix not in chosen:
            chosen[prefix] = best_member(node_at(data, locate(prefix, Scenario).path), members)
        if chosen[prefix] is not member:
            return False
    return True


def _reference_problem(problem: ReferenceProblem, data: Any) -> tuple[DataPath, str]:
    if problem.error is None:
        return problem.path, problem.message
    table = node_at(data, problem.path)
    where = locate(problem.error["loc"], problem.schema)
    rel, message = plain_message(problem.error, where, table)
    return (*problem.path, *rel), message


def _paths_where(data: Any, found: Any) -> set[DataPath]:
    """Paths of the values of ``data`` (tables and arrays walked) for which ``found(value)``."""
    paths: set[DataPath] = set()
    stack: list[tuple[DataPath, Any]] = [((), data)]
    while stack:
        here, node = stack.pop()
        if found(node):
            paths.add(here)
        elif isinstance(node, Mapping):
            stack += [((*here, k), v) for k, v in node.items()]
        elif isinstance(node, list):
            stack += [((*here, i), v) for i, v in enumerate(node)]
    return paths


def _nan_paths(data: Any) -> set[DataPath]:
    return _paths_where(data, lambda v: isinstance(v, float) and math.isnan(v))


_FLOAT_MAX = int(sys.float_info.max)


def _huge_paths(data: Any) -> set[DataPath]:
    """Paths of integers too large for a float (a 400-digit horizon_days)."""
    return _paths_where(
        data, lambda v: isinstance(v, int) and not isinstance(v, bool) and abs(v) > _FLOAT_MAX
    )


def _replace(data: Any, paths: set[DataPath], here: DataPath = ()) -> Any:
    """A copy of ``data`` with the values at ``paths`` set to inf."""
    if here in paths:
        return math.inf
    if isinstance(data, Mapping):
        return {k: _replace(v, paths, (*here, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [_replace(v, paths, (*here, i)) for i, v in enumerate(data)]
    return data


def _line_of(lines: Mapping[DataPath, int], path: DataPath) -> int | None:
    """The line of ``path`` or, for a key that is not in the file, of its nearest table."""
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


# --------------------------------------------------------------------------------------------
# Where keys are: a small scanner of (valid) TOML text
# --------------------------------------------------------------------------------------------


def key_lines(text: str) -> dict[DataPath, int]:
    """Map each key path of a TOML text to its 1-based line, best effort.

    Paths are as in the parsed data: keys, and indices for ``[[array]]`` tables and array
    items (``("products", 0, "demand", "spikes", 0, "start_day")``). Table headers map to their
    header line. Whatever the scanner cannot follow is left out.
    """
    return _Scanner(text).run().lines


class _Stop(Exception):
    pass


_BARE = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}\n#]")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines: dict[DataPath, int] = {}
        self.duplicates: list[tuple[DataPath, int]] = []
        self._arrays: dict[DataPath, int] = {}
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def run(self) -> _Scanner:
        try:
            self._document()
        except (_Stop, IndexError, RecursionError):
            pass
        return self

    # -- helpers --

    def _line(self, pos: int) -> int:
        return bisect.bisect_right(self._starts, pos)

    def _peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def _expect(self, token: str) -> None:
        if not self.text.startswith(token, self.pos):
            raise _Stop
        self.pos += len(token)

    def _skip(self, newlines: bool) -> None:
        blank = " \t\r\n" if newlines else " \t\r"
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in blank:
                self.pos += 1
            elif c == "#" and newlines:
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def _end_of_line(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end + 1

    def _record(self, path: DataPath, pos: int) -> None:
        line = self._line(pos)
        if path in self.lines:
            self.duplicates.append((path, line))
        else:
            self.lines[path] = line

    def _resolve(self, keys: list[str]) -> DataPath:
        path: DataPath = ()
        for key in keys:
            path = (*path, key)
            if path in self._arrays:
                path = (*path, self._arrays[path])
        return path

    # -- grammar --

    def _document(self) -> None:
        table: DataPath = ()
        while True:
            self._skip(newlines=True)
            if self.pos >= len(self.text):
                return
            start = self.pos
            if self._peek() == "[":
                array = self._peek(2) == "[["
                self.pos += 2 if array else 1
                keys = self._keys()
                self._skip(newlines=False)
                self._expect("]]" if array else "]")
                if array:
                    name = (*self._resolve(keys[:-1]), keys[-1])
                    self._arrays[name] = self._arrays.get(name, -1) + 1
                    table = (*name, self._arrays[name])
                else:
                    table = self._resolve(keys)
                self.lines.setdefault(table, self._line(start))
            else:
                path = (*table, *self._keys())
                self._skip(newlines=False)
                self._expect("=")
                self._record(path, start)
                self._value(path)
            self._end_of_line()

    def _keys(self) -> list[str]:
        keys: list[str] = []
        while True:
            self._skip(newlines=False)
            c = self._peek()
            if c in ('"', "'"):
                start = self.pos
                self._string()
                keys.append(tomllib.loads(f"k = {self.text[start : self.pos]}")["k"])
            else:
                match = _BARE.match(self.text, self.pos)
                if not match:
                    raise _Stop
                keys.append(match.group())
                self.pos = match.end()
            self._skip(newlines=False)
            if self._peek() != ".":
                return keys
            self.pos += 1

    def _value(self, path: DataPath) -> None:
        self._skip(newlines=False)
        c = self._peek()
        if c == "{":
            self.pos += 1
            while True:
                self._skip(newlines=True)
                if self._peek() == "}":
                    self.pos += 1
                    return
                start = self.pos
                inner = (*path, *self._keys())
                self._skip(newlines=False)
                self._expect("=")
                self._record(inner, start)
                self._value(inner)
                self._skip(newlines=True)
                if self._peek() == ",":
                    self.pos += 1
                elif self._peek() != "}":
                    raise _Stop
        elif c == "[":
            self.pos += 1
            index = 0
            while True:
                self._skip(newlines=True)
                if self._peek() == "]":
                    self.pos += 1
                    return
                self._record((*path, index), self.pos)
                self._value((*path, index))
                index += 1
                self._skip(newlines=True)
                if self._peek() == ",":
                    self.pos += 1
                elif self._peek() != "]":
                    raise _Stop
        elif c in ('"', "'"):
            self._string()
        else:
            match = _SCALAR_END.search(self.text, self.pos)
            end = len(self.text) if match is None else match.start()
            if end == self.pos:
                raise _Stop
            self.pos = end

    def _string(self) -> None:
        text = self.text
        for quote in ('"""', "'''"):
            if text.startswith(quote, self.pos):
                i = self.pos + 3
                while not text.startswith(quote, i):
                    if i >= len(text):
                        raise _Stop
                    i += 2 if quote == '"""' and text[i] == "\\" else 1
                extra = 0  # up to two quotes just before the closing ones are content
                while extra < 2 and text.startswith(quote[0], i + 3):
                    i += 1
                    extra += 1
                self.pos = i + 3
                return
        quote = text[self.pos]
        i = self.pos + 1
        while text[i] != quote:
            if text[i] == "\n":
                raise _Stop
            i += 2 if quote == '"' and text[i] == "\\" else 1
        self.pos = i + 1


def scenario_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a plain dict shaped like the TOML file, every value resolved (defaults
    included, ``None`` left out since TOML has no null), such that validating it again gives an
    equal Scenario."""
    return scenario.model_dump(by_alias=True, exclude_none=True)
