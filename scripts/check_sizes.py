"""Size limits of the source tree: no module over 400 lines, no function over 80.

    python scripts/check_sizes.py [PATH ...]     (default: src/)

Prints one line per offender (``path:line: what``) and exits 1 if there is any. Functions
are measured from ``def`` to their last line, decorators excluded; a nested function counts
both on its own and inside its parent, as a reader has to read both.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80

_Function = ast.FunctionDef | ast.AsyncFunctionDef


def _functions(node: ast.AST, prefix: str = "") -> Iterator[tuple[str, _Function]]:
    """Every function under ``node`` with its dotted name (``Class.method.inner``)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = prefix + child.name
            yield name, child
            yield from _functions(child, name + ".")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, prefix + child.name + ".")
        else:
            yield from _functions(child, prefix)


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it is under it, for short lines."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def offenders(path: Path) -> list[str]:
    """What is over the limits in one Python file."""
    source = path.read_text(encoding="utf-8")
    path = _shown(path)
    found = []
    lines = len(source.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"{path}:1: module is {lines} lines (max {MAX_MODULE_LINES})")
    for name, func in _functions(ast.parse(source, filename=str(path))):
        length = (func.end_lineno or func.lineno) - func.lineno + 1
        if length > MAX_FUNCTION_LINES:
            found.append(
                f"{path}:{func.lineno}: function {name} is {length} lines"
                f" (max {MAX_FUNCTION_LINES})"
            )
    return found


def _files(roots: list[Path]) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        else:
            yield from sorted(root.rglob("*.py"))


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or [Path(__file__).resolve().parent.parent / "src"]
    missing = [str(r) for r in roots if not r.exists()]
    if missing:
        print(f"check_sizes: no such path: {', '.join(missing)}", file=sys.stderr)
        return 2
    found = [line for path in _files(roots) for line in offenders(path)]
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
