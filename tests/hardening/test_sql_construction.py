"""Static check: no SQL or SOQL text is built from values by string formatting.

Every ``.py`` file of the product (intake/, flows/, tasks/, blocks/) is parsed
with ``ast``. A call to ``execute``, ``executemany``, ``exec_driver_sql``,
``text``, ``query``, ``query_all``, ``query_all_iter`` or the Salesforce
block's ``_query`` fails the check when its statement is an f-string, a ``%``
format, a ``.format(...)`` call or a concatenation with text, or a name that
the same function assigned from one of those. SQLAlchemy constructs
(``select(...)``) and ``format_soql(...)``, which quotes and escapes values,
are fine. Ruff's S608 rule (string-built SQL) must stay enabled too.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCT_DIRS = ("intake", "flows", "tasks", "blocks")
SQL_CALLS = frozenset(
    {"execute", "executemany", "exec_driver_sql", "text", "query", "query_all",
     "query_all_iter", "_query"}
)  # fmt: skip
# Keyword names under which a statement can be passed.
SQL_KEYWORDS = frozenset({"statement", "sql", "query", "soql", "clause"})


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def built_by_formatting(node: ast.AST) -> str | None:
    """How ``node`` builds text from values, or None when it does not."""
    if isinstance(node, ast.JoinedStr):
        if any(isinstance(v, ast.FormattedValue) for v in node.values):
            return "an f-string"
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        if _is_text(node.left) or isinstance(node.left, ast.JoinedStr):
            return "% formatting"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        sides = (node.left, node.right)
        if all(_is_text(side) for side in sides):
            return None  # two literals: nothing from outside
        if any(_is_text(s) or built_by_formatting(s) for s in sides):
            return "string concatenation"
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and not (isinstance(node.func.value, ast.Name)
                 and node.func.value.id == "format_soql")
    ):
        return "a .format() call"
    return None


class _Checker(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.scopes: list[dict[str, list[ast.AST]]] = [{}]
        self.problems: list[str] = []

    def _visit_scope(self, node: ast.AST) -> None:
        assigned: dict[str, list[ast.AST]] = {}
        for child in ast.walk(node):
            if isinstance(child, ast.Assign):
                for target in child.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(child.value)
            elif isinstance(child, (ast.AnnAssign, ast.AugAssign)) and isinstance(
                child.target, ast.Name
            ) and child.value is not None:
                value = child.value
                if isinstance(child, ast.AugAssign) and isinstance(child.op, ast.Add):
                    # "sql += x" appends to text the name already holds.
                    value = ast.BinOp(left=ast.Constant(""), op=child.op, right=value)
                assigned.setdefault(child.target.id, []).append(value)
        self.scopes.append(assigned)
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = _visit_scope
    visit_AsyncFunctionDef = _visit_scope
    visit_Module = _visit_scope

    def _statement_args(self, call: ast.Call, name: str) -> list[ast.AST]:
        args: list[ast.AST] = list(call.args) if name == "_query" else call.args[:1]
        args += [k.value for k in call.keywords if k.arg in SQL_KEYWORDS]
        return args

    def _why(self, node: ast.AST) -> str | None:
        why = built_by_formatting(node)
        if why is None and isinstance(node, ast.Name):
            for value in self.scopes[-1].get(node.id, []):
                inner = built_by_formatting(value)
                if inner is not None:
                    return f"{inner} assigned to {node.id}"
        return why

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node)
        if name in SQL_CALLS:
            for arg in self._statement_args(node, name):
                why = self._why(arg)
                if why is not None:
                    self.problems.append(
                        f"{self.path}:{node.lineno}: {name}() gets {why}"
                    )
        self.generic_visit(node)


def check_source(source: str, path: str = "<source>") -> list[str]:
    checker = _Checker(path)
    checker.visit(ast.parse(source, filename=path))
    return checker.problems


def product_files() -> list[Path]:
    return sorted(p for d in PRODUCT_DIRS for p in (REPO / d).rglob("*.py"))


def test_the_product_builds_no_sql_or_soql_from_formatted_strings():
    files = product_files()
    assert len(files) > 40  # the scan really reads the product
    problems: list[str] = []
    for path in files:
        problems += check_source(path.read_text(encoding="utf-8"),
                                 str(path.relative_to(REPO)))
    assert problems == []


@pytest.mark.parametrize(
    "source",
    [
        'session.execute(text(f"SELECT * FROM t WHERE id = {x}"))',
        'session.execute("SELECT * FROM t WHERE id = %s" % x)',
        'cursor.execute("SELECT * FROM t WHERE id = {}".format(x))',
        'sf.query("SELECT Id FROM Contact WHERE Email = \'" + email + "\'")',
        'sf.query_all_iter(f"SELECT Id FROM X WHERE Y = {y}")',
        "def f(x):\n    soql = f\"SELECT Id FROM X WHERE Y = {x}\"\n"
        "    return sf.query_all(soql)",
        "def f(x):\n    sql = 'DELETE FROM t WHERE id = '\n    sql += x\n"
        "    conn.exec_driver_sql(sql)",
        'self._query("patient search", f"SELECT Id FROM X WHERE Y = {y}")',
        'conn.execute(statement=f"DROP TABLE {name}")',
    ],
)
def test_the_check_finds_string_built_statements(source: str):
    assert check_source(source)


@pytest.mark.parametrize(
    "source",
    [
        'session.execute(text("SELECT 1"))',
        'cursor.execute("PRAGMA journal_mode=WAL")',
        "session.execute(select(Row).where(Row.id == x))",
        'sf.query_all_iter(format_soql("SELECT Id FROM X WHERE Y = {}", y))',
        "def f(y):\n    soql = format_soql('SELECT Id FROM X WHERE Y = {}', y)\n"
        "    return sf.query(soql)",
        'session.execute(text("SELECT 1 " "FROM t"))',
        'ax.text(0.5, 0.5, f"{n} requests")',
    ],
)
def test_the_check_allows_constants_sqlalchemy_and_format_soql(source: str):
    assert check_source(source) == []


def test_ruff_rule_s608_is_enabled_for_the_product():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    lint = config["tool"]["ruff"]["lint"]
    selected = set(lint.get("select", [])) | set(lint.get("extend-select", []))
    assert selected & {"S608", "S60", "S6", "S", "ALL"}
    assert "S608" not in set(lint.get("ignore", []))
    for pattern, rules in lint.get("per-file-ignores", {}).items():
        if "S608" in rules:
            assert pattern.startswith(("tests/", "bench/")), pattern
