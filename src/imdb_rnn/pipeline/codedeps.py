"""Which files of this repository a stage's program runs: read from its imports, not typed.

    from imdb_rnn.pipeline.codedeps import code_deps
    code_deps("workflow/scripts/train.py")
    # ["workflow/scripts/train.py", "src/imdb_rnn/train/batching.py", "src/imdb_rnn/config.py", ...]

A stage must rerun when any module its program imports changes, directly or through another
module, including imports made inside a function. A subpackage counts as every submodule it imports,
each listed as its own file, and as its ``__init__.py`` unless that holds only a docstring
(the reading order of a subpackage is text: editing it reruns nothing). The
Snakefile declares exactly this list as each rule's code input (imdb_rnn.pipeline.rules), and
dvc.yaml, which cannot run Python, has it written out (imdb_rnn.pipeline.dvcyaml; `make
check-generated` fails while dvc.yaml is stale).
Files a module reads at run time (the report's templates) it names in its own ``RESOURCES`` tuple.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "imdb_rnn"
SOURCE = Path("src") / PACKAGE
# A module that reads files of its own at run time (templates, tables) names them, relative
# to its folder, in a top-level tuple of this name; they count as the stage's code too.
RESOURCES = "RESOURCES"


def _module_path(root: Path, name: str) -> Path | None:
    """The file of package module ``name`` (dotted, under the package: ``fileio``, ``triplet``,
    ``triplet.numeric``): a subpackage's ``__init__.py`` or a module's ``.py``; None if neither."""
    base = root / SOURCE / Path(*name.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def _imports(path: Path, package: str | None) -> list[tuple[str, tuple[str, ...]]]:
    """Each import of the package in ``path``, anywhere in its body: (module, names), the module
    dotted under the package ("" is the package itself) and the names a ``from`` import takes
    from it. ``package`` is the dotted name of the package ``path`` belongs to ("" for the top
    one), which relative imports start from; None outside the package (they are ignored)."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE:
                    found.append((".".join(parts[1:]), ()))
        elif isinstance(node, ast.ImportFrom):
            names = tuple(alias.name for alias in node.names)
            if node.level:
                parts = package.split(".") if package else []
                if package is None or node.level - 1 > len(parts):
                    continue
                parts = parts[: len(parts) - (node.level - 1)] + (node.module.split(".") if node.module else [])
                found.append((".".join(parts), names))
            elif node.module and node.module.split(".")[0] == PACKAGE:
                found.append((node.module.partition(".")[2], names))
    return found


def _bound_names(path: Path) -> set[str] | None:
    """Names a module binds at its top level; None when a star import makes that unknowable."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(alias.name == "*" for alias in node.names):
                return None
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
    return names


def _with_parents(name: str) -> set[str]:
    """``name`` and the packages above it (importing ``a.b`` runs ``a``), without the top one."""
    parts = name.split(".") if name else []
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def _resolve(root: Path, importer: Path, imports: list[tuple[str, tuple[str, ...]]]) -> set[str]:
    """The package modules ``imports`` (of ``importer``) load: each module with its packages,
    and each name taken from a package that is a submodule of it. A module that does not
    exist, or a name that is neither a submodule nor bound in its package, raises
    ``FileNotFoundError``."""
    where = importer.relative_to(root).as_posix() if importer.is_relative_to(root) else str(importer)
    found: set[str] = set()
    for module, names in imports:
        path = root / SOURCE / "__init__.py" if not module else _module_path(root, module)
        if module and path is None:
            raise FileNotFoundError(f"{where} imports {PACKAGE}.{module}, but {SOURCE.as_posix()}/{module.replace('.', '/')}.py does not exist")
        found |= _with_parents(module)
        if path is None or path.name != "__init__.py":
            continue  # names from a plain module are its attributes
        bound = _bound_names(path) if path.is_file() else set()
        for name in names:
            submodule = f"{module}.{name}" if module else name
            if _module_path(root, submodule) is not None:
                found |= _with_parents(submodule)
            elif bound is not None and name not in bound:
                raise FileNotFoundError(f"{where} imports {PACKAGE}.{submodule}, but it is neither a module nor a name {path.name} binds")
    return found


def code_deps(script: str | Path, root: str | Path = ".") -> list[str]:
    """``script`` and every package module (and resource) it runs, transitively, as repo paths.

    A subpackage counts as its ``__init__.py`` and the submodules it imports. The script comes
    first, then the modules' files in path order, then the resources. Raises
    ``FileNotFoundError`` for an imported module that does not exist.
    """
    root = Path(root)
    seen: set[str] = set()
    todo = sorted(_resolve(root, root / script, _imports(root / script, None)))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_path(root, name)
        assert path is not None  # _resolve checked it
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo.extend(sorted(_resolve(root, path, _imports(path, package)) - seen))
    # a package whose __init__.py only documents it runs nothing: editing its text reruns no stage
    paths = sorted(path.relative_to(root).as_posix() for name in seen if not _only_documents(path := _module_path(root, name)))
    for name in sorted(seen):
        path = _module_path(root, name)
        assert path is not None
        paths.extend((path.parent / resource).relative_to(root).as_posix() for resource in _resources(path))
    return [Path(script).as_posix(), *paths]


def _only_documents(path: Path) -> bool:
    """Whether ``path`` is an ``__init__.py`` whose body is at most its docstring."""
    if path.name != "__init__.py":
        return False
    body = ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str) for node in body)


def _resources(path: Path) -> tuple[str, ...]:
    """The file names a module lists in its top-level ``RESOURCES`` tuple (none without one)."""
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == RESOURCES for t in node.targets):
            value = ast.literal_eval(node.value)
            if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{path}: {RESOURCES} must be a tuple of file names")
            return value
    return ()
