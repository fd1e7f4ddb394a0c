"""Literal words that a pattern's every match contains, to skip patterns cheaply.

Trying some sixty groups of reason patterns in order costs more than all
the MIME work of a bounce. Most patterns contain a run of plain characters
that any match must include ("quota", "relay"). When none of a group's runs
occurs in the text (a substring test in C), the group cannot match, so its
regular expression is not run. A pattern with no such run is always tried,
so the result is the same as trying every pattern.

Within a group that may match, each alternative is tried on its own, and
only when its own run occurs. A search finds ``A|B`` exactly when it finds
``A`` or ``B``, and one alternative with a literal start scans the text
faster than the whole alternation, which tries every branch at every offset.
"""

from __future__ import annotations

# Runs shorter than this occur in almost any text and would filter nothing.
MIN_KEY_CHARS = 3
# Escaped characters that stand for themselves.
_LITERAL_ESCAPES = frozenset(".-/#'()[]{}|?*+^$\\ _:<>@")
_QUANTIFIERS = frozenset("?*{")


def alternatives(pattern: str) -> list[str]:
    """Split ``pattern`` at its top-level ``|``: a match matches one of the parts."""
    parts = [""]
    depth = 0
    in_class = False
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            parts[-1] += pattern[position : position + 2]
            position += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append("")
            position += 1
            continue
        parts[-1] += char
        position += 1
    return parts


def required_run(pattern: str) -> str:
    """Return the longest run of plain characters that every match of ``pattern`` contains.

    ``pattern`` has no top-level ``|``. Groups, classes, escapes for classes and
    anchors end a run; a character followed by a quantifier is not required.
    """
    runs = [""]
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "(" or char == "[":
            position = _skip_group(pattern, position)
            runs.append("")
            if pattern[position : position + 1] in _QUANTIFIERS:
                position = _skip_quantifier(pattern, position)
            continue
        if char == "\\":
            escaped = pattern[position + 1 : position + 2]
            position += 2
            if escaped not in _LITERAL_ESCAPES:
                runs.append("")
                continue
            char = escaped
        else:
            if char in _QUANTIFIERS:
                position = _skip_quantifier(pattern, position)
                runs.append("")
                continue
            position += 1
            if char in ".^$+":
                runs.append("")
                if pattern[position : position + 1] in _QUANTIFIERS:
                    position = _skip_quantifier(pattern, position)
                continue
        if pattern[position : position + 1] in _QUANTIFIERS:
            position = _skip_quantifier(pattern, position)
            runs.append("")
            continue
        if pattern[position : position + 1] == "+":
            # One or more: the character is required, but the run cannot go on past it.
            runs[-1] += char
            runs.append("")
            position += 1
            continue
        runs[-1] += char
    return max(runs, key=len)


def _skip_group(pattern: str, position: int) -> int:
    """Return the position after the group or class that opens at ``position``."""
    depth = 0
    in_class = False
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            position += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if depth == 0:
                # A class at top level ends at its own closing bracket.
                end = position + 1
                while end < len(pattern) and pattern[end] != "]":
                    end += 2 if pattern[end] == "\\" else 1
                return end + 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return position + 1
        position += 1
    return position


def _skip_quantifier(pattern: str, position: int) -> int:
    if pattern[position] == "{":
        end = pattern.find("}", position)
        position = end + 1 if end >= 0 else len(pattern)
    else:
        position += 1
    # A lazy or possessive mark after the quantifier.
    return position + 1 if pattern[position : position + 1] in ("?", "+") else position


def alternative_keys(patterns: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """Split a group into its top-level alternatives, each with its required run.

    The run is ``None`` when it is too short to filter anything, so that
    alternative is always tried.
    """
    keyed: list[tuple[str, str | None]] = []
    for pattern in patterns:
        for part in alternatives(pattern):
            run = required_run(part).strip()
            keyed.append((part, run if len(run) >= MIN_KEY_CHARS else None))
    return keyed


def group_keys(patterns: tuple[str, ...]) -> tuple[str, ...] | None:
    """Return words of which any match of the group contains one, or ``None`` to always try."""
    keys: list[str] = []
    for _, key in alternative_keys(patterns):
        if key is None:
            return None
        keys.append(key)
    return tuple(dict.fromkeys(keys))
