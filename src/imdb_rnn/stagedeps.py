"""Which files of this repository a stage's program runs: read from its imports, not typed.

    from imdb_rnn.stagedeps import code_deps
    code_deps("workflow/scripts/train.py")
    # ["workflow/scripts/train.py", "src/imdb_rnn/batching.py", "src/imdb_rnn/config.py", ...]

A stage must rerun when any module its program imports changes, directly or through another
module, including imports made inside a function. The Snakefile (workflow/rules/common.smk)
declares exactly this list as each rule's code input; dvc.yaml, which cannot run Python,
carries the same lists, and tests/test_dag.py fails when they differ from this function's.
Files a module reads at run time (the report's templates) are listed in :data:`RESOURCES`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "imdb_rnn"
SOURCE = Path("src") / PACKAGE
# Files a module reads at run time, which its imports do not show (paths from the repository root).
RESOURCES = {
    "report": (
        "src/imdb_rnn/templates/report.md.j2",
        "src/imdb_rnn/templates/report.tex.j2",
        "src/imdb_rnn/templates/original_values.yaml",
    ),
}


def _imported_modules(path: Path) -> set[str]:
    """The package's modules that ``path`` imports anywhere in its body (top-level names)."""
    own_package = path.parent.name == PACKAGE
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE and len(parts) > 1:
                    found.add(parts[1])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1 and own_package:
                base = node.module
            elif node.level == 0 and node.module and node.module.split(".")[0] == PACKAGE:
                base = node.module.split(".", 1)[1] if "." in node.module else None
            else:
                continue
            if base is not None:
                found.add(base.split(".")[0])
            else:  # from imdb_rnn import x / from . import x
                found.update(alias.name for alias in node.names)
    return found


def code_deps(script: str | Path, root: str | Path = ".") -> list[str]:
    """``script`` and every package module (and resource) it runs, transitively, as repo paths.

    The script comes first, then the modules in name order. Raises ``FileNotFoundError`` for an
    imported module that does not exist.
    """
    root = Path(root)
    seen: set[str] = set()
    todo = sorted(_imported_modules(root / script))
    while todo:
        name = todo.pop()
        if name in seen or name == "__init__":
            continue
        seen.add(name)
        module = root / SOURCE / f"{name}.py"
        if not module.is_file():
            raise FileNotFoundError(f"{script} imports {PACKAGE}.{name}, but {module} does not exist")
        todo.extend(sorted(_imported_modules(module) - seen))
    paths = [f"{SOURCE.as_posix()}/{name}.py" for name in sorted(seen)]
    for name in sorted(seen):
        paths.extend(RESOURCES.get(name, ()))
    return [Path(script).as_posix(), *paths]
