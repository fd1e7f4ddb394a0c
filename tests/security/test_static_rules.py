"""Rules checked on the product's source: random values and secret comparisons.

Random values that guard anything (keys, tokens, codes, ids) come from
``secrets``; the ``random`` module is predictable. A secret, a MAC or a
signature is compared with ``hmac.compare_digest``, whose time does not
depend on where the first difference is. ``==`` leaks that position.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("compliance", "consent", "suppression", "dsr")
SECRET_NAME = re.compile(r"(signature|mac|secret|password|key_hash|code_hash|token)$", re.I)
# Blind indexes are lookup keys stored in clear in the database, so comparing
# a computed digest with a stored index reveals nothing: ``digest`` is left
# out of SECRET_NAME for that reason.


def product_modules() -> Iterator[tuple[Path, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _name(node.func)
    return ""


def random_imports(tree: ast.Module) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "random" for a in node.names):
            lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "random":
            lines.append(node.lineno)
    return lines


def plain_secret_comparisons(tree: ast.Module) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        operands = [node.left, *node.comparators]
        # A comparison with a literal (``token == ""``) tests a shape, not a secret.
        if any(isinstance(operand, ast.Constant) for operand in operands):
            continue
        if any(SECRET_NAME.search(_name(operand)) for operand in operands):
            lines.append(node.lineno)
    return lines


def test_rules_see_the_product() -> None:
    modules = list(product_modules())

    assert len(modules) > 100


def test_no_random_module() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path, tree in product_modules()
        for line in random_imports(tree)
    ]

    assert found == [], "use the secrets module instead of random"


def test_secrets_compared_in_constant_time() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path, tree in product_modules()
        for line in plain_secret_comparisons(tree)
    ]

    assert found == [], "compare secrets with hmac.compare_digest"


def test_rules_catch_a_plain_comparison() -> None:
    # The checks themselves must be able to fail.
    tree = ast.parse("import random\nif given_signature == expected_signature:\n    pass\n")

    assert random_imports(tree) == [1]
    assert plain_secret_comparisons(tree) == [2]
