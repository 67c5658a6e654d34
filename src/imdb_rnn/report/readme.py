"""README's Results block, written from the published files so that no number in it is typed.

    from imdb_rnn.report.readme import results_block, replace_block
    text = replace_block(readme_text, results_block(root))

The block sits between :data:`BEGIN` and :data:`END` in README.md. Everything in it comes from
``report/params.yaml`` (the params the published runs used), ``results/summary.json``, each run's
``results/runs/<arch>/seed<k>/metrics.json``, ``results/data/stats.json`` and ``report/report.md``
(its Discussion is copied, so the README and the report cannot disagree). ``make readme`` (and
``make generated``) rewrite the block; ``make check-generated`` fails when the committed block is
not what these files give.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from imdb_rnn.config import Params, load_params
from imdb_rnn.errors import UserError
from imdb_rnn.fileio import read_json
from imdb_rnn.records import METRICS, run_dir
from imdb_rnn.report.fmt import count, join_and, percent
from imdb_rnn.report.inputs import ORIGINAL_VALUES

BEGIN = "<!-- results: begin. Written by `make readme` from results/ and report/; edit those, not this block. -->"
END = "<!-- results: end -->"
DISCUSSION = re.compile(r"^### \d+\.\d+ Discussion$")


def _read(path: Path, hint: str) -> str:
    if not path.is_file():
        raise UserError(f"missing {path}; {hint}")
    return path.read_text(encoding="utf-8")


def _discussion(markdown: str, source: Path) -> tuple[str, str]:
    """The Discussion's section number and body (up to the next heading)."""
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if DISCUSSION.match(line)), None)
    if start is None:
        raise UserError(f"{source} has no Discussion section; rerun stage `report`")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return lines[start].split()[1], "\n".join(lines[start + 1 : end]).strip()


def _rendered_at(markdown: str, source: Path) -> str:
    match = re.search(r"^Rendered .*? at commit `([^`]+)`", markdown, flags=re.MULTILINE)
    if match is None:
        raise UserError(f"{source} has no 'Rendered … at commit' line; rerun stage `report`")
    return match.group(1)


def _short(commit: str) -> str:
    """A commit's first 12 characters, keeping "+dirty" (a report rendered from uncommitted code says so)."""
    return commit[:12] + ("+dirty" if commit.endswith("+dirty") else "")


def _runs(root: Path, params: Params) -> dict[str, dict[int, dict[str, Any]]]:
    runs: dict[str, dict[int, dict[str, Any]]] = {}
    for arch in params.train.archs:
        runs[arch] = {}
        for seed in params.train.all_seeds:
            path = run_dir(root / "results" / "runs", arch, seed) / METRICS
            _read(path, f"run stage `train` for {arch} seed {seed}")
            runs[arch][seed] = read_json(path)
    return runs


def _seeds_text(seeds: list[int]) -> str:
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {', '.join(str(s) for s in seeds)}"


def _epochs_text(epochs: int) -> str:
    return "1 epoch" if epochs == 1 else f"{epochs} epochs"


def _provenance(root: Path, params: Params, runs: Mapping[str, Mapping[int, Mapping[str, Any]]], report_md: str) -> str:
    every = [m for by_seed in runs.values() for m in by_seed.values()]
    versions = sorted({m["code_version"] for m in every})
    trained = f"commit `{versions[0][:12]}`" if len(versions) == 1 else f"commits {join_and([f'`{v[:12]}`' for v in versions])}"
    numerics = sorted({m["numerics"]["setting"] or "unpinned" for m in every})
    cpus = sorted({m["numerics"].get("cpu") or "unknown CPU" for m in every})
    packages = every[0]["numerics"]["packages"]
    stats = read_json(root / "results" / "data" / "stats.json")
    splits = stats["splits"]
    params_file = root / "report" / "params.yaml"
    digest = hashlib.sha256(params_file.read_bytes()).hexdigest()[:16]
    devices = sorted({m["device"] for m in every})
    return (
        f"**The published run.** All {len(every)} runs ({len(runs)} architectures × {_seeds_text(params.train.all_seeds)}) "
        f"were trained at {trained}, {_epochs_text(params.train.epochs)} each, on {count(splits['train']['reviews'])} training, "
        f"{count(splits['valid']['reviews'])} validation and {count(splits['test']['reviews'])} test reviews "
        f"(word2vec also read {count(stats['unsup_reviews'])} unlabeled reviews), on {join_and(devices)} "
        f"({join_and(cpus)}) with `numerics.cpu: {join_and(numerics)}`, torch {packages['torch']}, "
        f"numpy {packages['numpy']}. The report was rendered at commit `{_short(_rendered_at(report_md, root / 'report' / 'report.md'))}`; "
        f"the params of these runs are `report/params.yaml` (sha256 `{digest}`…)."
    )


def _table1(params: Params, summary: Mapping[str, Any], runs: Mapping[str, Mapping[int, Mapping[str, Any]]]) -> str:
    original = yaml.safe_load(ORIGINAL_VALUES.read_text(encoding="utf-8"))
    seeds = params.train.all_seeds
    lines = [
        f"| architecture | RNN/LSTM params | test accuracy, mean ± SD (n = {len(seeds)}) | per seed ({', '.join(map(str, seeds))}) "
        "| train + validation per run | original |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for arch in params.train.archs:
        entry = summary[arch]
        by_seed = [entry["test_acc_by_seed"][str(s)] for s in seeds]
        spread = f" ± {percent(entry['test_acc_std'])}" if len(seeds) > 1 else ""
        minutes = sorted({f"{runs[arch][s]['train_seconds'] / 60:.0f}" for s in seeds}, key=float)
        reference = original.get(arch)
        lines.append(
            f"| {params.models[arch].title} (`{arch}`) | {count(entry['rnn_params'])} | {percent(entry['test_acc_mean'])}{spread} % | "
            f"{', '.join(percent(a) for a in by_seed)} | {minutes[0] if len(minutes) == 1 else f'{minutes[0]}–{minutes[-1]}'} min | "
            + (f"{reference['test_acc_percent']:.2f} %" if reference else "–")
            + " |"
        )
    return "\n".join(lines)


def results_block(root: str | Path) -> str:
    """The README's Results block (BEGIN … END) from the published files under ``root``."""
    root = Path(root)
    params_file = root / "report" / "params.yaml"
    _read(params_file, "rerun stage `report` (it writes the params the runs used)")
    params = load_params(params_file)
    summary = read_json(root / "results" / "summary.json")
    runs = _runs(root, params)
    report_md = _read(root / "report" / "report.md", "run stage `report`")
    number, discussion = _discussion(report_md, root / "report" / "report.md")
    parts = [
        BEGIN,
        _provenance(root, params, runs, report_md),
        "### Table 1",
        "Test accuracy (%) over the seeds (`results/summary.json`), each run tested with the weights of its best-validation "
        "epoch; time per run from its `metrics.json`, one training job per core on two cores.",
        _table1(params, summary, runs),
        "### What the runs show",
        f"The report's Discussion (`report/report.pdf`, section {number}), copied here by `make readme`:",
        discussion,
        END,
    ]
    return "\n\n".join(parts) + "\n"


def replace_block(readme: str, block: str) -> str:
    """``readme`` with the text from BEGIN to END (inclusive) replaced by ``block``."""
    if readme.count(BEGIN) != 1 or readme.count(END) != 1 or readme.index(BEGIN) > readme.index(END):
        raise UserError(f"README.md must hold the results markers once each, in order: {BEGIN!r} … {END!r}")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + block.rstrip("\n") + tail
