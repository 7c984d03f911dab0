"""Text from files, made safe for a terminal.

Scenario titles, policy and product names, paths and error messages come from files that anyone
may have written. Written raw, an escape sequence in them could retitle the window, clear the
screen or rewrite what was printed before (``\\x1b]0;...\\x07``, ``\\x1b[2J``, a carriage
return). :func:`clean` shows every control character as a visible escape instead; every line the
command line prints passes through it.
"""

from __future__ import annotations

import re

__all__ = ["clean", "clean_json"]

# C0 controls but newline and tab, DEL, C1 controls (U+0080-U+009F: 8-bit CSI, OSC, ...), and
# the bidirectional overrides that make text read differently from what it is
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str) -> str:
    """``text`` with every control character (but newline and tab) written as ``\\xNN``.

    >>> clean("Shop\\x1b]0;PWNED\\x07 \\x1b[2J ok\\n")
    'Shop\\\\x1b]0;PWNED\\\\x07 \\\\x1b[2J ok\\n'
    """
    return _CONTROL.sub(_shown, text)


def clean_json(text: str) -> str:
    """JSON text with the control characters JSON itself leaves raw (DEL, C1, bidirectional
    overrides) written as ``\\uXXXX`` escapes: still valid JSON, and the same data.

    >>> clean_json('{"name": "oos\\u009b2J"}')
    '{"name": "oos\\\\u009b2J"}'
    """
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
