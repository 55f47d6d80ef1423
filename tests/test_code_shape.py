"""The shape of the code, kept in CI (issue 13): a file a newcomer can read, a function that fits
on a screen. Migrations and tests are exempt (generated, or long lists of cases)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_FILE_LINES = 900
MAX_FUNCTION_LINES = 80
SKIPPED_PARTS = {".venv", "node_modules", "migrations", "tests", "var", ".git"}


def source_files() -> list[Path]:
    return sorted(
        path for path in ROOT.rglob("*.py") if not SKIPPED_PARTS & set(path.relative_to(ROOT).parts)
    )


def test_the_walk_sees_the_apps():
    names = {path.relative_to(ROOT).as_posix() for path in source_files()}
    assert {"credit/scoring.py", "inspections/images.py", "bench/_common.py"} <= names


def test_no_file_is_over_900_lines():
    long_files = {
        path.relative_to(ROOT).as_posix(): lines
        for path in source_files()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES
    }
    assert long_files == {}


def test_no_function_is_over_80_lines():
    long_functions = {}
    for path in source_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long_functions[f"{path.relative_to(ROOT).as_posix()}:{node.name}"] = lines
    assert long_functions == {}
