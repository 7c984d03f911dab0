"""What goes wrong when a scenario is loaded: located problems, gathered into one error.

A :class:`Problem` says where (file, key path, line) and what, in words a planner understands.
:class:`ScenarioError` carries every problem found in one load, so a user fixes them all in one go::

    scenario.toml:41: products[widget].replenishment: reorder_point (500) must be below ...
    scenario.toml:58: suppliers[acme].lead_time_days.meen: unknown key 'meen'; did you mean 'mean'?

This module imports nothing from the rest of stockout.
"""

from __future__ import annotations

import datetime
import difflib
import json
import math
import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices``, or ``""`` when none is close."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[c] for c in close]
    return f"; did you mean '{close[0]}'?" if close else ""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a scenario.

    ``key_path`` is the dotted path of the key (``products[widget].replenishment.order_up_to``),
    empty for problems with the file as a whole; ``line`` is 1-based, None when unknown.
    """

    file: str
    key_path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.key_path:
            return f"{where}: {self.key_path}: {self.message}"
        return f"{where}: {self.message}"


class ScenarioError(ValueError):
    """A scenario could not be loaded. ``problems`` lists every problem found, in file order.

    ``str(error)`` renders one problem per line as ``FILE:LINE: key.path: message``.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("ScenarioError needs at least one problem")
        super().__init__(str(self))

    @property
    def file(self) -> str:
        """The file (or source name) the first problem is about."""
        return self.problems[0].file

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[tuple[Problem, ...]]]:
        # Picklable, so an error raised in a worker process reaches the caller intact.
        return (type(self), (self.problems,))


# --------------------------------------------------------------------------------------------
# pydantic errors in plain words
# --------------------------------------------------------------------------------------------

DataPath = tuple[str | int, ...]

_KIND_NOUNS = {
    "dist": "distribution",
    "rule": "replenishment rule",
    "availability": "availability policy",
}
_DIST_EXAMPLE = '{ dist = "gamma", mean = 7, cv = 0.3 }'
_UNION_TYPES = (Union, types.UnionType)
_MEMBER_NAME = re.compile(r"(\w+)\]*$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class Located:
    """Where a pydantic error points in the data, and what the schema expects there.

    ``path`` holds the keys and list indices into the data (union tags and member names of the
    error's location dropped); ``container`` is the model that owns the last key;
    ``expected`` is the (unwrapped) type expected at the location; ``choices`` lists, for each
    plain (untagged) union on the way, the location prefix, the member pydantic tried and all
    members, so errors of the members the user did not mean can be dropped.
    """

    path: DataPath
    container: Any
    expected: Any
    discriminator: str | None
    choices: tuple[tuple[tuple[Any, ...], type, tuple[type, ...]], ...]


def _unwrap(tp: Any) -> tuple[Any, str | None]:
    """Strip ``Annotated`` and ``None`` from a type; return it and its discriminator, if any."""
    discriminator: str | None = None
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            args = get_args(tp)
            for meta in args[1:]:
                if isinstance(meta, FieldInfo) and isinstance(meta.discriminator, str):
                    discriminator = meta.discriminator
            tp = args[0]
        elif origin in _UNION_TYPES:
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp, discriminator
            tp = members[0]
        else:
            return tp, discriminator


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def model_keys(model: type[BaseModel]) -> list[str]:
    """The keys a model accepts in a scenario file (aliases where a field has one)."""
    return [f.alias or name for name, f in model.model_fields.items()]


def _field_type(model: type[BaseModel], key: object) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            if isinstance(field.discriminator, str):  # pydantic moves it off the annotation
                return Annotated[field.annotation, Field(discriminator=field.discriminator)]
            return field.annotation
    return None


def _tags(member: Any, discriminator: str) -> tuple[Any, ...]:
    if not _is_model(member):
        return ()
    field = member.model_fields.get(discriminator)
    if field is None or get_origin(field.annotation) is not Literal:
        return ()
    return get_args(field.annotation)


def union_kinds(members: Iterable[Any], discriminator: str) -> list[str]:
    """The tag values of a tagged union's members, in order."""
    return [str(t) for m in members for t in _tags(m, discriminator)]


def _member(members: tuple[Any, ...], step: object, discriminator: str | None) -> Any:
    if not isinstance(step, str):
        return None
    if discriminator is not None:
        for m in members:
            if step in _tags(m, discriminator):
                return m
    match = _MEMBER_NAME.search(step)
    name = match.group(1) if match else step
    for m in members:
        if getattr(m, "__name__", None) == name:
            return m
    return None


def locate(loc: tuple[Any, ...], root: Any) -> Located:
    """Follow a pydantic error location through the schema types, starting at ``root``."""
    tp: Any = root
    path: list[str | int] = []
    container: Any = None
    choices: list[tuple[tuple[Any, ...], type, tuple[type, ...]]] = []
    for k, step in enumerate(loc):
        bare, discriminator = _unwrap(tp)
        if get_origin(bare) in _UNION_TYPES:
            members = tuple(a for a in get_args(bare) if a is not type(None))
            member = _member(members, step, discriminator)
            if member is not None:
                if discriminator is None:
                    choices.append((tuple(loc[:k]), member, members))
                tp = member
                continue
        container = bare
        path.append(step)
        if _is_model(bare):
            tp = _field_type(bare, step)
        elif get_origin(bare) is list and isinstance(step, int):
            tp = get_args(bare)[0]
        elif get_origin(bare) is dict:
            tp = get_args(bare)[1]
        else:
            tp = None
    expected, discriminator = _unwrap(tp)
    return Located(tuple(path), container, expected, discriminator, tuple(choices))


def node_at(data: Any, path: Iterable[str | int]) -> Any:
    """The value at ``path`` in plain data, or None when it is not there."""
    node = data
    for step in path:
        if isinstance(node, Mapping) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            return None
    return node


def best_member(data: Any, members: tuple[type, ...]) -> type:
    """The member of a plain union a table was most likely meant as (most keys in common)."""
    if not isinstance(data, Mapping):
        return members[0]

    def score(member: type) -> tuple[int, int]:
        keys = set(model_keys(member)) if _is_model(member) else set()
        return (len(keys & set(data)), -len(set(data) - keys))

    return max(members, key=score)  # max keeps the first of equal scores


def key_path_text(data: Any, path: Iterable[str | int]) -> str:
    """``products[widget].replenishment.order_up_to``: list items by their id or name."""
    out = ""
    node = data
    for step in path:
        if isinstance(step, int) and isinstance(node, list):
            item = node[step] if 0 <= step < len(node) else None
            label: object = step
            if isinstance(item, Mapping):
                for key in ("id", "name"):
                    if isinstance(item.get(key), str) and item[key]:
                        label = item[key]
                        break
            out += f"[{label}]"
        else:
            key = str(step)
            key = key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)
            out += f".{key}" if out else key
        node = node_at(node, (step,))
    return out


def describe(value: object) -> str:
    """A value as a planner would write it in the file (never a Python repr of a huge int)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value.bit_length() > 90:
            return f"a number with about {int(value.bit_length() * math.log10(2))} digits"
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return f"the string {text!r}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (datetime.date, datetime.time)):
        return f"the date/time {value.isoformat()}"
    if value is None:
        return "nothing"
    return f"a {type(value).__name__}"


def _bound(value: object) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return describe(value)


def _quoted_words(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text)


def _entries(n: object) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def _pattern_message(key: object, value: object) -> str:
    got = describe(value)
    if key == "class":
        return (
            "must name a Python class as 'module:ClassName' "
            f"(e.g. 'mypolicies:LeanBackorder'), got {got}"
        )
    if key == "name":
        return (
            "must start with a letter or digit and use only letters, digits, '.', '_' and '-' "
            f"(it names the results folder), got {got}"
        )
    return f"is not in the expected form, got {got}"


def _type_message(kind: str, value: Any, got: str, where: Located) -> str | None:
    """The sentence for a value of the wrong type (None: an error of another kind)."""
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        if where.discriminator == "dist":
            return f"expected a distribution such as {_DIST_EXAMPLE}, got {got}"
        return f"expected a table of keys, got {got}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list [ ... ], got {got}"
    if kind in ("float_type", "float_parsing"):
        if isinstance(value, int) and not isinstance(value, bool):
            return f"the number is too large, got {got}"
        return f"expected a number, got {got}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        if isinstance(value, float) and value.is_integer():
            return f"expected a whole number, got {got} (write {int(value)})"
        return f"expected a whole number, got {got}"
    if kind == "int_parsing_size":
        return f"the number is too large, got {got}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {got}"
    if kind in ("string_type", "string_unicode"):
        return f"expected text in quotes, got {got}"
    if kind == "finite_number":
        return f"must be a finite number, got {got}"
    return None


def plain_message(err: ErrorDetails, where: Located, data: Any) -> tuple[DataPath, str]:
    """Turn one pydantic error into a key path and a sentence a planner understands.

    ``data`` is the plain data the error's location is relative to. The returned path may be
    longer than ``where.path`` (an unknown kind points at its ``dist``/``rule``/``availability``
    key; a check between keys points at the first key it names).
    """
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    value = err.get("input")
    got = describe(value)
    path = where.path
    key = path[-1] if path else None

    if kind == "missing":
        if path == ("products",):
            return path, "missing: a scenario needs at least one [[products]] table"
        return path, "required key is missing"
    if kind == "extra_forbidden":
        allowed = model_keys(where.container) if _is_model(where.container) else []
        hint = did_you_mean(key, allowed)
        if not hint and allowed:
            hint = f"; allowed here: {', '.join(allowed)}"
        shown = f"'{key}'" if str(key).isprintable() else repr(str(key))  # no raw newlines
        return path, f"unknown key {shown}{hint}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        disc = str(ctx.get("discriminator", where.discriminator or "")).strip("'")
        noun = _KIND_NOUNS.get(disc, "kind")
        members = get_args(where.expected) if get_origin(where.expected) in _UNION_TYPES else ()
        kinds = union_kinds(members, disc) or _quoted_words(str(ctx.get("expected_tags", "")))
        listed = ", ".join(kinds)
        if kind == "union_tag_not_found":
            return (*path, disc), f"missing: say which {noun} this is, one of: {listed}"
        tag = ctx.get("tag")
        hint = did_you_mean(tag, kinds)
        valid = f" Valid kinds: {listed}" if hint else f"; valid kinds: {listed}"
        return (*path, disc), f"unknown {noun} '{tag}'{hint}{valid}"
    typed = _type_message(kind, value, got, where)
    if typed is not None:
        return path, typed
    bounds = {
        "greater_than_equal": ("ge", "must be at least"),
        "greater_than": ("gt", "must be greater than"),
        "less_than_equal": ("le", "must be at most"),
        "less_than": ("lt", "must be less than"),
    }
    if kind in bounds:
        name, words = bounds[kind]
        return path, f"{words} {_bound(ctx.get(name))}, got {got}"
    if kind == "too_short":
        if path == ("products",):
            return path, "a scenario needs at least one [[products]] table"
        return path, (
            f"needs at least {_entries(ctx.get('min_length'))}, got {ctx.get('actual_length', 0)}"
        )
    if kind == "too_long":
        return path, (
            f"has {_entries(ctx.get('actual_length'))}, at most {ctx.get('max_length')} are allowed"
        )
    if kind == "string_too_short":
        return path, "must not be empty"
    if kind == "string_too_long":
        return path, f"is too long: at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return path, _pattern_message(key, value)
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        hint = did_you_mean(value, _quoted_words(expected))
        return path, f"must be {expected}, got {got}{hint}"
    if kind in ("value_error", "assertion_error"):
        message = str(ctx["error"]) if "error" in ctx else err["msg"]
        return _first_key_named(path, where, message, data), message
    return path, f"{err['msg'][:1].lower()}{err['msg'][1:]}, got {got}"


def _first_key_named(path: DataPath, where: Located, message: str, data: Any) -> DataPath:
    """A check between the keys of one table ("reorder_point (500) must be below ...") points
    at the key its message starts with, when the table has that key."""
    if not _is_model(where.expected):
        return path
    match = re.match(r"(\w+)", message)
    table = node_at(data, path)
    if match and isinstance(table, Mapping) and match.group(1) in table:
        if match.group(1) in model_keys(where.expected):
            return (*path, match.group(1))
    return path
