"""README's Results block, written from the published files so that no number in it is typed.

    from imdb_rnn.report.readme import results_block, replace_block
    text = replace_block(readme_text, results_block(root))

The block sits between :data:`BEGIN` and :data:`END` in README.md. Everything in it comes from
``report/params.yaml`` (the params the published runs used), ``results/summary.json``, each run's
``results/runs/<arch>/seed<k>/metrics.json``, ``results/data/stats.json`` and ``report/report.md``
(its Discussion is copied, so the README and the report cannot disagree). ``make readme`` rewrites
the block; ``tests/test_results.py`` fails when the committed block is not what these files give.
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
from imdb_rnn.report.fmt import count, interval_text, join_and, percent, seconds_text
from imdb_rnn.report.inputs import ORIGINAL_VALUES
from imdb_rnn.stats.analysis import t_interval

BEGIN = "<!-- results: begin. Written by `make readme` from results/ and report/; edit those, not this block. -->"
END = "<!-- results: end -->"
DISCUSSION = "## 4 Discussion"
APPENDIX = "## Appendix: experiments beside the baseline"


def _read(path: Path, hint: str) -> str:
    if not path.is_file():
        raise UserError(f"missing {path}; {hint}")
    return path.read_text(encoding="utf-8")


def _section(markdown: str, heading: str, source: Path) -> str:
    """The body of one ``## `` section of the report (up to the next heading of that level)."""
    lines = markdown.splitlines()
    if heading not in lines:
        raise UserError(f"{source} has no '{heading}' section; rerun stage `report` (it needs --runs)")
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end]).strip()


def _rendered_at(markdown: str, source: Path) -> str:
    match = re.search(r"^\| Rendered at commit \| `([^`]+)`[^|]* \|$", markdown, flags=re.MULTILINE)
    if match is None:
        raise UserError(f"{source} has no 'Rendered at commit' row; rerun stage `report`")
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
    seed_list = ", ".join(str(s) for s in seeds)
    n = len(seeds)
    lines = [
        f"| architecture | RNN/LSTM params | test acc. (ours, n = {n}) | 95 % interval of the mean | per seed ({seed_list}) "
        f"| best epoch per seed | original test acc. |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    best = max(params.train.archs, key=lambda a: summary[a]["test_acc_mean"])
    for arch in params.train.archs:
        entry = summary[arch]
        by_seed = [entry["test_acc_by_seed"][str(s)] for s in seeds]
        mean = f"{percent(entry['test_acc_mean'])} ± {percent(entry['test_acc_std'])} %"
        reference = original.get(arch)
        lines.append(
            f"| {params.models[arch].title} (`{arch}`) | {count(entry['rnn_params'])} | "
            + (f"**{mean}**" if arch == best else mean)
            + f" | {interval_text(t_interval(by_seed))} | {', '.join(percent(a) for a in by_seed)} | "
            f"{', '.join(str(runs[arch][s]['best_epoch']) for s in seeds)} | "
            + (f"{reference['test_acc_percent']:.2f} %" if reference else "–")
            + " |"
        )
    return "\n".join(lines)


def _times(params: Params, runs: Mapping[str, Mapping[int, Mapping[str, Any]]]) -> str:
    lines = [
        f"| architecture | seed | torch threads | train + validation, {_epochs_text(params.train.epochs)} | train tok/s |",
        "|---|--:|--:|--:|--:|",
    ]
    for arch in params.train.archs:
        for seed, m in runs[arch].items():
            threads = sorted(int(t) for t in m.get("thread_seconds") or {}) or [int(m["threads"])]
            used = str(threads[0]) if threads[0] == threads[-1] else f"{threads[0]}–{threads[-1]}"
            lines.append(
                f"| {params.models[arch].title} | {seed} | {used} | {seconds_text(m['train_seconds'])} "
                f"| {count(round(m['train_tokens_per_second']))} |"
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
    parts = [
        BEGIN,
        _provenance(root, params, runs, report_md),
        "### Table 1",
        "Test accuracy: mean ± sample standard deviation over the seeds and the Student-t 95 % interval of "
        "the mean (`results/summary.json`); each run was tested with the weights of its best-validation epoch "
        "(`best_epoch` in its `metrics.json`). The report's Tables 2 and 3 add each run's interval over the "
        "test reviews and paired tests between the models.",
        _table1(params, summary, runs),
        "### Time per run",
        "From each run's `metrics.json`. A job's time depends on what ran beside it: publishing runs one "
        "training job per core, so on two cores each job shared the machine with another "
        "(README: Publishing a run).",
        _times(params, runs),
        "### What the runs show",
        "The report's Discussion (`report/report.md`, section 4), copied here by `make readme`:",
        _section(report_md, DISCUSSION, root / "report" / "report.md"),
    ]
    if APPENDIX in report_md.splitlines():  # the ablations, each a table and what it shows
        appendix = _section(report_md, APPENDIX, root / "report" / "report.md")
        parts += [
            "### Experiments beside the baseline",
            "The report's appendix (`results/experiments/<name>/`, each a finished run of the pipeline with one "
            "change), copied here by `make readme`:",
            "\n".join("#" + line if line.startswith("### ") else line for line in appendix.splitlines()),
        ]
    parts.append(END)
    return "\n\n".join(parts) + "\n"


def replace_block(readme: str, block: str) -> str:
    """``readme`` with the text from BEGIN to END (inclusive) replaced by ``block``."""
    if readme.count(BEGIN) != 1 or readme.count(END) != 1 or readme.index(BEGIN) > readme.index(END):
        raise UserError(f"README.md must hold the results markers once each, in order: {BEGIN!r} … {END!r}")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + block.rstrip("\n") + tail
