"""Every repository path that the README, docs/, the code and the report cite exists in a clone.

A citation is a path-like word: one with a ``/`` whose first part is a top-level name of the
project (``src/imdb_rnn/config.py``, ``results/summary.json``), or a file name with a code or
Markdown suffix (``batching.py``, ``imdb_rnn/numerics.py``, ``conftest.py``). The rules:

- Under a folder the repository tracks (``src/``, ``docs/``, ``tests/``, ``tools/`` …) a citation
  must name a tracked file or folder. Placeholders stand for one name: ``<arch>``, ``{arch}``,
  ``{{arch}}``, ``${item.arch}``, ``*``; ``{a,b}`` for either; ``…`` for anything.
- Under the pipeline's output folders (``data/``, ``models/``, ``logs/``, ``results/``,
  ``report/``) a citation is an output, accepted when it is tracked, when the pipeline declares
  it (dvc.yaml, the Snakefile and workflow/rules/*.smk) or lies below a folder it declares, when
  .gitignore names it as a tool's leftover (``/report/*.log``), or when a tool writes it
  (:data:`TOOL_OUTPUTS`). So ``results/runs/<arch>/seed<k>/metrics.json`` passes, and a module's
  path from before it moved into a subpackage fails.
- A file name alone, or a path that starts below the top level, with a code or Markdown suffix
  must be the end of a tracked path: a module's old name fails.
- The design notes and the reference files outside the repository (:data:`FORBIDDEN`) never
  pass: a clone has neither.
- A Markdown link to a local file must reach it, and its ``#anchor`` one of its headings.

tests/ builds stale paths on purpose, so there only comments and docstrings are read.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

# What the checks read whole; tests/*.py are read for comments and docstrings only.
WHOLE = ["README.md", "Makefile", "Snakefile", "dvc.yaml", "params.yaml", "report/report.md"]
WHOLE_GLOBS = ["docs/*.md", "src/**/*.py", "src/**/*.j2", "src/**/*.yaml", "workflow/**/*", "tools/*.py", "benchmarks/*.py", ".github/workflows/*"]
REPORT = "report/report.md"
OUTPUT_ROOTS = ("data", "models", "logs", "results", "report")
# Written by a tool, not declared by a stage: the venv (make install), Snakemake's and DVC's
# own folders, DVC's default local remote, the HTML page `snakemake --report` writes, and the
# experiment folders tools/export_experiment.py writes (any name the user gives).
TOOL_OUTPUTS = (".venv", ".venv-lock", ".snakemake", ".dvc/cache", ".dvc/tmp", "dvc-storage", "report/snakemake-report.html", "results/experiments")
TOOL_ROOTS = tuple(sorted({t.split("/")[0] for t in TOOL_OUTPUTS}))
# A bare file name with one of these suffixes names project code or docs; a bare params.yaml-like
# name may be the user's own file, so .yaml and the rest are checked only with a folder.
NAME_SUFFIXES = (".py", ".smk", ".j2", ".md", ".sh", ".rst")
PATH_SUFFIXES = NAME_SUFFIXES + (".yaml", ".yml", ".toml", ".cfg")
FORBIDDEN = re.compile(r"DESIGN\.md|(?<![\w-])(?:\.\./)*shared/(?:reference|docs|data|hooks)\b|/work/shared\b")

_SEGMENT = r"(?:\$\{[^}\s]+\}|\{\{\w+\}\}|\{[^{}\s/]*\}|<[\w.-]+>|[\w.*…+@-])+"
CANDIDATE = re.compile(rf"(?<![\w./~$-])(?:\.\./)*{_SEGMENT}(?:/{_SEGMENT})*/?")
PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\{\{\w+\}\}|\{[^{}]*\}|<[\w.-]+>|\*|…")
LINK = re.compile(r"\]\(([^)\s]+)\)")


@functools.cache
def tracked() -> frozenset[str]:
    """Every file a clone has (tracked, or new and not ignored) and every folder above one."""
    done = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True)
    if done.returncode != 0:
        pytest.skip("not a git checkout")
    files = [name for name in done.stdout.decode().split("\0") if name and (ROOT / name).exists()]
    return frozenset(files) | {str(parent) for f in files for parent in Path(f).parents if str(parent) != "."}


def _regex(path: str) -> str:
    """``path`` as a regex in which each placeholder matches one name (``…`` anything)."""
    out, last = [], 0
    for match in PLACEHOLDER.finditer(path):
        out.append(re.escape(path[last : match.start()]))
        text = match.group()
        if text == "…":
            out.append(".*")
        elif "," in text and text.startswith("{") and not text.startswith("{{"):
            out.append("(?:" + "|".join(re.escape(alt) for alt in text[1:-1].split(",")) + ")")
        else:
            out.append("[^/]*" if text == "*" else "[^/]+")
        last = match.end()
    return "".join(out) + re.escape(path[last:])


def _sample(path: str) -> str:
    """One concrete path that ``path`` stands for: a placeholder becomes ``x1``, ``{a,b}`` becomes ``a``."""
    return PLACEHOLDER.sub(lambda m: m.group()[1:-1].split(",")[0] if "," in m.group() else "x1", path)


def _clean(word: str) -> str:
    return word.rstrip(".,:;-").removeprefix("./").rstrip("/")


def dvc_yaml_resolved() -> str:
    """dvc.yaml with each ``${group.key}`` that its ``vars`` define replaced by the value."""
    dvc = (ROOT / "dvc.yaml").read_text(encoding="utf-8")
    groups = [v for v in (yaml.safe_load(dvc) or {}).get("vars") or [] if isinstance(v, dict)]
    values = {f"{g}.{k}": str(v) for group in groups for g, keys in group.items() if isinstance(keys, dict) for k, v in keys.items()}
    return re.sub(r"\$\{([\w.]+)\}", lambda m: values.get(m.group(1), m.group()), dvc)


@functools.cache
def declared() -> tuple[tuple[str, str], ...]:
    """The outputs the pipeline names (dvc.yaml with its vars resolved, the Snakefile,
    workflow/rules/*.smk) and the leftovers .gitignore names under an output folder, each as
    (regex, sample path); an output folder alone declares nothing."""
    texts = [dvc_yaml_resolved(), (ROOT / "Snakefile").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
    found = {_clean(m.group()) for text in texts for m in CANDIDATE.finditer(text)}
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    found |= {line.strip("/") for line in ignored if line.startswith("/") and line.count("/") > 1 and not line.endswith("/")}
    return tuple(sorted((_regex(p), _sample(p)) for p in found if "/" in p and p.split("/")[0] in OUTPUT_ROOTS))


def _exists(path: str) -> bool:
    pattern = re.compile(_regex(path))
    return any(pattern.fullmatch(name) for name in tracked())


def _is_output(path: str) -> bool:
    """Whether ``path`` is an output the pipeline or a tool writes, or a folder holding one. Below
    a declared folder anything passes only in the git-ignored folders (data/, models/, logs/):
    what results/ and report/ hold is tracked, so there a path must name a file or a pattern."""
    if any(path == t or path.startswith(t + "/") for t in TOOL_OUTPUTS):
        return True
    below = "(?:/.*)?" if path.split("/")[0] not in tracked() else ""
    sample, own = _sample(path), re.compile(_regex(path) + "(?:/.*)?")
    return any(re.fullmatch(regex + below, sample) or own.fullmatch(other) for regex, other in declared())


def stale(word: str, before: str = "") -> str | None:
    """Why ``word`` cites something a clone lacks, or None when it is fine or no citation.
    ``before`` is the text just before it (``from ruamel.yaml import`` names a module)."""
    path = _clean(word)
    if FORBIDDEN.search(path):
        return "a clone has neither the design notes nor shared/: say it in docs/ and cite that"
    if not path or path.startswith(("../", "/")) or re.search(r"\b(?:from|import)\s+$", before):
        return None
    first = path.split("/")[0]
    if "/" in path and (first in OUTPUT_ROOTS or first in TOOL_ROOTS or first in tracked()):
        if _exists(path) or ((first in OUTPUT_ROOTS or first in TOOL_ROOTS) and _is_output(path)):
            return None
        return "no such file or folder in the repository, and no output the pipeline declares"
    suffixes = PATH_SUFFIXES if "/" in path else NAME_SUFFIXES
    stem = path.rsplit("/", 1)[-1].split(".")[0]
    if path.endswith(suffixes) and stem and not PLACEHOLDER.fullmatch(stem):
        tail = re.compile(r"(?:.*/)?" + _regex(path))
        if not any(tail.fullmatch(name) for name in tracked()):
            return "no tracked file has this name"
    return None


def citation_problems(text: str, name: str) -> list[str]:
    """``name: word: why`` for each stale citation in ``text``."""
    problems = []
    for match in CANDIDATE.finditer(text):
        why = stale(match.group(), text[max(0, match.start() - 8) : match.start()])
        if why:
            problems.append(f"{name}: {match.group()}: {why}")
    covered = " ".join(problems)
    problems += [f"{name}: {m.group()}: a clone has no such file" for m in FORBIDDEN.finditer(text) if m.group() not in covered]
    return problems


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def stale_links(text: str, source: Path) -> list[str]:
    """The Markdown links in ``text`` (the file at ``source``) whose local target or anchor is missing."""
    problems = []
    for match in LINK.finditer(text):
        target = match.group(1)
        if re.match(r"[a-z]+:", target):
            continue
        name, _, anchor = target.partition("#")
        file = (source.parent / name).resolve() if name else source
        if not file.exists():
            problems.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), flags=re.M)
            if anchor not in {_anchor(h) for h in headings}:
                problems.append(f"{target}: {file.name} has no heading with that anchor")
    return problems


def comments_and_docstrings(source: str) -> str:
    """The comments and docstrings of a Python file, one after another."""
    parts = [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and ast.get_docstring(node):
            parts.append(ast.get_docstring(node))
    return "\n".join(parts)


def sources() -> dict[str, str]:
    """Each file the checks read, by its path, with the text that is checked."""
    names = [n for n in WHOLE if n in tracked()]
    names += sorted(str(p.relative_to(ROOT)) for g in WHOLE_GLOBS for p in ROOT.glob(g) if str(p.relative_to(ROOT)) in tracked() and p.is_file())
    texts = {n: dvc_yaml_resolved() if n == "dvc.yaml" else (ROOT / n).read_text(encoding="utf-8") for n in dict.fromkeys(names)}
    if "params.yaml" in texts:  # the user edits it (data.url may name their own archive): check the one the project ships
        shipped = subprocess.run(["git", "show", "HEAD:params.yaml"], cwd=ROOT, capture_output=True, text=True, check=False)
        texts["params.yaml"] = shipped.stdout if shipped.returncode == 0 else ""
    for name in sorted(n for n in tracked() if n.startswith("tests/") and n.endswith(".py") and n.count("/") == 1):
        texts[name] = comments_and_docstrings((ROOT / name).read_text(encoding="utf-8"))
    return texts


def problems_in(texts: dict[str, str]) -> list[str]:
    found = [p for name, text in texts.items() for p in citation_problems(text, name)]
    return found + [f"{name}: {p}" for name, text in texts.items() if name.endswith(".md") for p in stale_links(text, ROOT / name)]


def test_readme_docs_and_code_cite_only_paths_a_clone_has():
    problems = problems_in({name: text for name, text in sources().items() if name != REPORT})
    assert not problems, "\n".join(problems)


def test_the_published_report_cites_only_paths_a_clone_has():
    problems = problems_in({REPORT: (ROOT / REPORT).read_text(encoding="utf-8")})
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "word",
    [
        "src/imdb_rnn/training.py",  # before the move into train/
        "src/imdb_rnn/triplet_problem.yaml",
        "trainio.py",
        "imdb_rnn/stagedeps.py",
        "workflow/profiles/default",
        "workflow/scripts/predict.py",  # a tool now, under tools/
        "results/runs/<arch>/seed<k>/metricz.json",
        "models/<arch>.pt",  # the checkpoints are models/<arch>/seed<k>.pt
        "data/prepped/{train,valid,test}.npz",
        "report/figures/{learning_curves,gradient_flow}.svg",
        "DESIGN.md",
        "../shared/reference/assignment2-report.md",
        "shared/reference/part2-problem.md",
        "part2-problem.md",
        "docs/no-such-page.md",
    ],
)
def test_a_stale_path_is_caught(word):
    assert stale(word), word
    assert citation_problems(f"See `{word}` for more.", "planted.md"), word


@pytest.mark.parametrize(
    "word",
    [
        "src/imdb_rnn/train/training.py",
        "src/imdb_rnn/triplet/problem.yaml",
        "training.py",
        "imdb_rnn/numerics.py",
        "workflow/rules/*.smk",
        "workflow/scripts/{stage}.py",
        "results/runs/<arch>/seed<k>/metrics.json",
        "results/runs/bilstm2/seed1234/predictions.csv.gz",
        "results/experiments/<name>/",
        "models/<arch>/seed<k>.pt",
        "models/resume/<arch>-seed<k>.pt",
        "data/prepared/{train,valid,test}.npz",
        "data/prepared/tokenizer.json",
        "logs/benchmarks/train/<arch>-seed1234.tsv",
        "report/figures/{learning_curves,gradient_flow,accuracy_by_length}.{png,pdf}",
        "report/report.log",
        ".venv/bin/python",
        "profiles/slurm/config.yaml",
        "train/unsup",  # a folder inside the archive, not a path of the project
        "other.yaml",
        "/etc/slurm/slurm.conf",
        "https://dvc.org/doc",
    ],
)
def test_a_real_path_an_output_or_a_word_that_is_no_path_passes(word):
    assert stale(word) is None, (word, stale(word))
    assert not citation_problems(f"See `{word}` for more.", "planted.md"), word


def test_a_stale_path_planted_in_the_readme_fails_the_check():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not problems_in({"README.md": readme})
    planted = readme + "\nThe training loop is in `src/imdb_rnn/training.py`.\n"
    assert problems_in({"README.md": planted}) == [
        "README.md: src/imdb_rnn/training.py: no such file or folder in the repository, and no output the pipeline declares"
    ]


def test_a_link_to_a_missing_file_or_heading_fails():
    source = ROOT / "README.md"
    assert stale_links("[layout](docs/pipeline.md#layout)", source) == []
    assert stale_links("[x](docs/pipeline.md#no-such-heading)", source) == [
        "docs/pipeline.md#no-such-heading: pipeline.md has no heading with that anchor"
    ]
    assert stale_links("[x](docs/no-such-page.md)", source) == ["docs/no-such-page.md: no such file"]


def test_tests_are_read_for_their_comments_and_docstrings_only():
    source = '"""Reads `src/imdb_rnn/old.py`."""\nSTALE = "src/imdb_rnn/gone.py"  # see `src/imdb_rnn/older.py`\n'
    text = comments_and_docstrings(source)
    assert "old.py" in text and "older.py" in text and "gone.py" not in text
