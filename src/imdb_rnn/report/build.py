"""Stage ``report``: the assignment report, regenerated from the results files.

    python workflow/scripts/report.py --params params.yaml --summary results/summary.json \\
        --metrics results/metrics --history results/history --models results/models \\
        --data-stats results/data/stats.json --embedding-stats results/embedding/stats.json \\
        --triplet results/triplet/verification.json --diagnostics results/diagnostics \\
        --runs results/runs --experiments results/experiments --out report

:func:`write_report` reads every input once, builds ONE Jinja2 context (:func:`build_context`:
Part 1 and provenance here, Part 1's statistics in :mod:`imdb_rnn.report.findings` from
:mod:`imdb_rnn.stats.analysis`, Part 2 in :mod:`imdb_rnn.report.part2`), draws the figures
(:mod:`imdb_rnn.report.figures`) and renders the context twice, with ``templates/report.md.j2`` and
``templates/report.tex.j2``. The layout follows the original report
(Ao Peng, COMP-5900V 2021 Winter, Assignment 2) section by section; added sections follow it. Every
number comes from a results file or params.yaml; the original's own Table 1 values, printed
beside ours and labelled as the original's, come from ``templates/original_values.yaml``.
Values are formatted by :mod:`imdb_rnn.report.fmt`, which also escapes them for LaTeX.
The PDF is the separate stage ``pdf`` (:mod:`imdb_rnn.report.pdf`).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import importlib.metadata
import math
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from imdb_rnn.config import Params, load_params
from imdb_rnn.data.vocab import TOKEN_PATTERN
from imdb_rnn.errors import UserError
from imdb_rnn.fileio import read_json, write_bytes, write_text
from imdb_rnn.provenance import code_version
from imdb_rnn.records import CONTRACT_HISTORY_COLUMNS
from imdb_rnn.report.figures import plot_gradient_flow, plot_learning_curves, plot_length_accuracy, plot_seed_curves
from imdb_rnn.report.findings import appendix_context, findings_context
from imdb_rnn.report.fmt import TexRaw, count, join_and, number_text, percent, sci, seconds_text
from imdb_rnn.report.part2 import part2_context
from imdb_rnn.report.rendering import TEMPLATES, render
from imdb_rnn.stats.analysis import Run, analyse, load_runs
from imdb_rnn.stats.experiments import Experiment, load_experiments

RESOURCES = ("templates/original_values.yaml",)  # read at run time (pipeline.codedeps)
ORIGINAL_VALUES = TEMPLATES / "original_values.yaml"
FIGURE = "learning_curves"
GRADIENT_FIGURE = "gradient_flow"
TABLE_COLUMNS = ("Total # of parameters in RNN/LSTM layer(s)", "Test accuracy %")


@dataclass(frozen=True)
class ReportInputs:
    """Where the report's inputs are; folders hold one ``<arch>.json|csv|txt`` per architecture."""

    params: Path
    summary: Path
    metrics: Path
    history: Path
    models: Path
    data_stats: Path
    embedding_stats: Path
    verification: Path
    diagnostics: Path | None = None  # folder of <arch>.json gradient profiles (stage diagnose)
    runs: Path | None = None  # results/runs: every seed's metrics, history and predictions (stage train)
    experiments: Path | None = None  # results/experiments: <name>/summary.json of runs beside the baseline


# ------------------------------------------------------------------------------ reading


def _load_json(path: Path, stage: str) -> Any:
    if not path.is_file():
        raise UserError(f"missing {path}; run stage `{stage}` first")
    return read_json(path)


def _load_text(path: Path, stage: str) -> str:
    if not path.is_file():
        raise UserError(f"missing {path}; run stage `{stage}` first")
    return path.read_text(encoding="utf-8")


def read_history(path: Path) -> dict[str, list[float]]:
    """One list per column of a ``history.csv``."""
    rows = list(csv.DictReader(_load_text(path, "summarize").splitlines()))
    columns = CONTRACT_HISTORY_COLUMNS[:5]  # all but seconds
    if not rows or any(c not in rows[0] for c in columns):
        raise UserError(f"{path} has no rows or lacks one of {', '.join(columns)}; rerun stages `train` and `summarize`")
    history = {c: [float(row[c]) for row in rows] for c in columns}
    # Written by the train stage since it records gradient norms; older runs lack it.
    if "rnn_grad_norm_mean" in rows[0]:
        history["rnn_grad_norm_mean"] = [float(row["rnn_grad_norm_mean"]) for row in rows]
    return history


# ------------------------------------------------------------------------------ Part 1


def _numerics_text(metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """The numeric kernels, packages and CPU the runs recorded (imdb_rnn.numerics), one line
    per distinct record, e.g. "numerics.cpu avx2 (MKL_CBWR=AVX2, …); ATen AVX2, OpenBLAS
    Haswell; torch 2.13.0+cpu, …; AMD EPYC"."""
    lines = []
    for record in metrics.values():
        numerics = record.get("numerics")
        if not numerics:
            line = "not recorded (the runs predate the record)"
        else:
            pinned = ", ".join(f"{name}={value}" for name, value in sorted(numerics["env"].items()) if value is not None) or "nothing set"
            kernels = numerics["kernels"]
            blas = join_and(sorted({str(entry["core"]) for entry in kernels.get("blas") or []})) or "unknown"
            packages = ", ".join(f"{name} {version}" for name, version in numerics["packages"].items() if version)
            aten = kernels["torch_cpu_capability"]
            line = f"numerics.cpu {numerics['setting']} ({pinned}); ATen {aten}, OpenBLAS {blas}; {packages}; {numerics['cpu']}"
        if line not in lines:
            lines.append(line)
    return " | ".join(lines)


def _threads_text(params: Params, metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """The torch threads of the runs, e.g. "1 torch thread(s) per run (2-level bi-LSTM: 1–2, growing
    onto idle cores)": a job whose results do not depend on its thread count may grow
    (imdb_rnn/train/threads.py); ``thread_seconds`` says what each run used."""
    used = {arch: sorted({int(t) for t in m.get("thread_seconds") or [m["threads"]]}) for arch, m in metrics.items()}
    fixed = sorted({counts[0] for counts in used.values() if len(counts) == 1})
    grown = [f"{params.models[arch].title}: {counts[0]}–{counts[-1]}" for arch, counts in used.items() if len(counts) > 1]
    text = f"{join_and([str(t) for t in fixed])} torch thread(s) per run" if fixed else "torch threads per run"
    return text + (f" ({'; '.join(grown)}, growing onto idle cores)" if grown else "")


def _embedding_text(stats: Mapping[str, Any], used: Sequence[str], unsup: int) -> str:
    """Which initialisation the runs used, described from the embed stage's statistics."""
    if list(used) != [stats["init"]]:
        return f"{join_and(list(used))} (from the runs' metrics; the embed stage prepared {stats['init']} vectors)"
    coverage = f"{100 * stats['coverage']:.2f}% of the vocabulary has a pretrained vector"
    if stats["init"] == "word2vec":
        corpus = stats.get("corpus")
        source = (
            f"the {count(corpus['train_reviews'])} training-split reviews and the {count(unsup)} unlabelled reviews, "
            f"{count(corpus['reviews'])} reviews and {count(corpus['words'])} words in all"
            if corpus
            else f"the training split and the {count(unsup)} unlabelled reviews"
        )
        return (
            f"word2vec: {stats['dim']}-d vectors learned in-domain from {source} "
            f"(window {stats['window']}, min_count {stats['min_count']}, {stats['epochs']} epochs, seed {stats['seed']}); {coverage}"
        )
    if stats["init"] == "glove":
        return f"GloVe: {stats['dim']}-d vectors from {stats.get('glove_path', 'a GloVe file')}; {coverage}"
    return f"random: N(0, 1), as torch.nn.Embedding initialises itself ({stats['dim']}-d); no pretrained vectors"


def _models(params: Params, inputs: ReportInputs, summary: Mapping[str, Any], metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    original = yaml.safe_load(ORIGINAL_VALUES.read_text(encoding="utf-8"))
    rows = []
    for number, arch in enumerate(params.train.archs, start=1):
        model, entry, run = params.models[arch], summary[arch], metrics[arch]
        reference = original.get(arch)
        rows.append(
            {
                "number": number,
                "id": arch,
                "title": model.title,
                "class_name": model.class_name,
                "structure": TexRaw(_load_text(inputs.models / f"{arch}.txt", "summarize").rstrip("\n")),
                "rnn_params": count(run["rnn_params"]),
                "total_params": count(run["total_params"]),
                "test_acc": percent(entry["test_acc_mean"]),
                "test_acc_std": percent(entry["test_acc_std"]),
                "n": entry["n"],
                "seeds": ", ".join(str(s) for s in entry["seeds"]),
                "test_acc_by_seed": ", ".join(percent(a) for a in entry["test_acc_by_seed"].values()),
                "best_epoch": run["best_epoch"],
                "train_seconds": seconds_text(run["train_seconds"]),
                "train_seconds_total": seconds_text(entry["train_seconds_total"]),
                "code_versions": entry.get("code_versions", ["unknown"]),
                "rnn_params_original": count(reference["rnn_params"]) if reference else None,
                "test_acc_original": f"{reference['test_acc_percent']:.2f}" if reference else None,
            }
        )
    return rows


def _part1(
    params: Params, data: Mapping[str, Any], embedding: Mapping[str, Any], metrics: Mapping[str, Any], summary: Mapping[str, Any]
) -> dict[str, Any]:
    splits = data["splits"]
    seeds = params.train.all_seeds
    ns = sorted({summary[arch]["n"] for arch in params.train.archs})
    return {
        "n_archs": len(params.train.archs),
        "titles": join_and([params.models[a].title for a in params.train.archs]),
        "epochs": params.train.epochs,
        "batch_size": params.train.batch_size,
        "lr": number_text(params.train.lr),
        "seeds": ", ".join(str(s) for s in seeds),
        "primary_seed": seeds[0],
        "n": ns[-1],
        "embedding": _embedding_text(embedding, sorted({m["embedding_init"] for m in metrics.values()}), data["unsup_reviews"]),
        "devices": join_and(sorted({m["device"] for m in metrics.values()})),
        "threads": _threads_text(params, metrics),
        "numerics": _numerics_text(metrics),
        "labelled": count(splits["train"]["reviews"] + splits["valid"]["reviews"]),
        "train": count(splits["train"]["reviews"]),
        "valid": count(splits["valid"]["reviews"]),
        "test": count(splits["test"]["reviews"]),
        "valid_percent": f"{100 * params.data.valid_fraction:g}",
        "train_percent": f"{100 * (1 - params.data.valid_fraction):g}",
        "split_seed": data["seed"],
        "limit": count(data["limit"]) if data["limit"] else None,
        "vocab_size": count(data["vocab"]["size"]),
        "vocab_max": count(data["vocab"]["max_size"]),
        # On a small sample every distinct training token fits under the cap.
        "vocab_words": count(data["vocab"]["size"] - len(data["vocab"]["specials"])),
        "vocab_capped": data["vocab"]["size"] - len(data["vocab"]["specials"]) >= data["vocab"]["max_size"],
        "specials": list(data["vocab"]["specials"]),
        "tokens_mean": f"{splits['train']['tokens']['mean']:.1f}",
        "token_pattern": TOKEN_PATTERN,
        "dropout": join_and(sorted({number_text(params.models[a].dropout) for a in params.train.archs})),
        "clip_norm": None if params.train.clip_norm is None else number_text(params.train.clip_norm),
        "dropped_low": f"{100 * min(m['tokens_dropped_fraction'] for m in metrics.values()):.2f}",
        "dropped_high": f"{100 * max(m['tokens_dropped_fraction'] for m in metrics.values()):.2f}",
        "tokens_median": number_text(splits["train"]["tokens"]["median"]),
        "oov_test": f"{100 * splits['test']['oov_rate']:.2f}%",
    }


# -------------------------------------------------------------------------- provenance


def _report_date() -> str:
    # SOURCE_DATE_EPOCH (reproducible-builds.org) pins the date, so two renders can be compared.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch and epoch.isdigit() else dt.datetime.now(dt.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _provenance(
    params: Params,
    data: Mapping[str, Any],
    embedding: Mapping[str, Any],
    models: Sequence[Mapping[str, Any]],
    devices: str,
    threads: str,
    numerics: str,
    params_file: Path,
) -> dict[str, Any]:
    return {
        "date": _report_date(),
        "commit": code_version(),
        "trained_at": sorted({version for m in models for version in m["code_versions"]}),
        "params_hash": hashlib.sha256(params_file.read_bytes()).hexdigest()[:16],
        "archive_url": params.data.url,
        "archive_sha256": params.data.sha256,
        "data_fingerprint": data["archive"]["content_fingerprint"],
        "vocab_fingerprint": data["vocab"]["fingerprint"],
        "archive_reviews": count(sum(data["archive"]["reviews"].values())),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "cpus": os.cpu_count() or "unknown",
        "devices": devices,
        "threads": threads,
        "numerics": numerics,
        "prepare_seconds": seconds_text(data["seconds"]["total"]),
        "read_seconds": seconds_text(data["seconds"]["read_archive"]),
        "embed_seconds": seconds_text(embedding["seconds"]),
        "train": [{"title": m["title"], "seconds": m["train_seconds"], "total": m["train_seconds_total"], "n": m["n"]} for m in models],
    }


# ----------------------------------------------------------------------------- context


@dataclass(frozen=True)
class ReportData:
    """Every input of the report, read once (:func:`load_report_data`)."""

    summary: dict[str, Any]
    metrics: dict[str, dict[str, Any]]  # primary seed's, per architecture
    histories: dict[str, dict[str, list[float]]]  # primary seed's, per architecture
    data_stats: dict[str, Any]
    embedding_stats: dict[str, Any]
    verification: dict[str, Any]
    diagnostics: dict[str, dict[str, Any]] | None  # per architecture, or None without --diagnostics
    runs: dict[str, dict[int, Run]] | None  # every seed, or None without --runs
    analysis: dict[str, Any] | None  # imdb_rnn.stats.analysis.analyse(runs)
    experiments: list[Experiment]  # results/experiments/<name>/, in name order
    params_doc: dict[str, Any]  # params.yaml as written (the appendix lists what each experiment changed)


def load_report_data(inputs: ReportInputs, params: Params) -> ReportData:
    """Read and check every input; one clear error naming the stage to rerun when one is missing."""
    archs = params.train.archs
    summary = _load_json(inputs.summary, "summarize")
    metrics = {arch: _load_json(inputs.metrics / f"{arch}.json", "summarize") for arch in archs}
    for arch in archs:
        if arch not in summary:
            raise UserError(f"{inputs.summary} has no entry for {arch}; rerun stage `summarize`")
        if metrics[arch]["epochs"] != params.train.epochs:
            raise UserError(
                f"{inputs.metrics / f'{arch}.json'} is from a {metrics[arch]['epochs']}-epoch run but train.epochs is "
                f"{params.train.epochs} in {inputs.params}; rerun stages `train` and `summarize`"
            )
    runs = load_runs(inputs.runs, archs, params.train.all_seeds) if inputs.runs is not None else None
    return ReportData(
        summary=summary,
        metrics=metrics,
        histories={arch: read_history(inputs.history / f"{arch}.csv") for arch in archs},
        data_stats=_load_json(inputs.data_stats, "prepare"),
        embedding_stats=_load_json(inputs.embedding_stats, "embed"),
        verification=_load_json(inputs.verification, "gradcheck"),
        diagnostics=(
            {arch: _load_json(inputs.diagnostics / f"{arch}.json", "diagnose") for arch in archs} if inputs.diagnostics is not None else None
        ),
        runs=runs,
        analysis=analyse(runs) if runs is not None else None,
        experiments=load_experiments(inputs.experiments, archs),
        params_doc=yaml.safe_load(inputs.params.read_text(encoding="utf-8")),
    )


def build_context(inputs: ReportInputs, params: Params, data: ReportData | None = None) -> dict[str, Any]:
    """The one context both templates render: every number already formatted as text.

    ``data`` is read from ``inputs`` (:func:`load_report_data`) when not given.
    """
    data = load_report_data(inputs, params) if data is None else data
    part1 = _part1(params, data.data_stats, data.embedding_stats, data.metrics, data.summary)
    models = _models(params, inputs, data.summary, data.metrics)
    findings = None
    if data.runs is not None and data.analysis is not None:
        findings = findings_context(params, data.runs, data.analysis, data.diagnostics, data.experiments)
        findings["length_pdf"] = TexRaw(findings["length_pdf"])
        findings["appendix"] = appendix_context(params, data.params_doc, data.runs, data.experiments, data.data_stats)
    provenance = _provenance(
        params, data.data_stats, data.embedding_stats, models, part1["devices"], part1["threads"], part1["numerics"], inputs.params
    )
    return {
        "findings": findings,
        "report": params.report.model_dump(),
        "part1": part1,
        "models": models,
        "table": {"columns": list(TABLE_COLUMNS), "caption": "Results"},
        "part2": part2_context(data.verification),
        # A file name LaTeX reads, not text it prints: escaping its "_" would change it.
        "figure": {"png": f"figures/{FIGURE}.png", "pdf": TexRaw(f"figures/{FIGURE}.pdf"), "seed": part1["primary_seed"]},
        "provenance": provenance,
        "diagnosis": _diagnosis(params, data) if data.diagnostics is not None else None,
    }


def _ratio(value: float) -> str:
    return sci(value, 2)


def _diagnosis(params: Params, data: ReportData) -> dict[str, Any]:
    """Section 3.1: gradient flow by position, beside what the learning curves show."""
    assert data.diagnostics is not None
    profiles = data.diagnostics
    rows = []
    for arch in params.train.archs:
        doc, history = profiles[arch], data.histories[arch]
        norms = history.get("rnn_grad_norm_mean")
        rows.append(
            {
                "title": params.models[arch].title,
                "last_over_middle": _ratio(doc["trained"]["last_over_middle"]),
                "last_over_first": _ratio(doc["trained"]["last_over_first"]),
                "initial_last_over_middle": _ratio(doc["initial"]["last_over_middle"]),
                "train_acc_last": percent(history["train_acc"][-1]),
                "valid_acc_range": f"{percent(min(history['valid_acc']))}–{percent(max(history['valid_acc']))}",
                "rnn_grad_norms": f"{sci(min(norms))}–{sci(max(norms))}" if norms else "not recorded",
            }
        )
    first = profiles[params.train.archs[0]]
    ratios = [doc["trained"][key] for doc in profiles.values() for key in ("last_over_middle", "last_over_first")]
    ratios += [doc["initial"]["last_over_middle"] for doc in profiles.values()]
    return {
        "infinite": any(math.isinf(r) for r in ratios),
        "rows": rows,
        "length": first["length"],
        "reviews": first["reviews"],
        "edge": first["edge"],
        "seed": data.metrics[params.train.archs[0]]["seed"],
        "png": f"figures/{GRADIENT_FIGURE}.png",
        "pdf": TexRaw(f"figures/{GRADIENT_FIGURE}.pdf"),
    }


def write_report(inputs: ReportInputs, out: str | os.PathLike[str]) -> dict[str, Path]:
    """Render ``report.md``, ``report.tex``, the figures, the tables and ``params.yaml`` under ``out``."""
    out = Path(out)
    params = load_params(inputs.params)
    data = load_report_data(inputs, params)
    context = build_context(inputs, params, data)
    figures = [out / context["figure"]["png"], out / context["figure"]["pdf"]]
    # matplotlib reads $…$ in a label as math: a title is text, so its dollars are escaped.
    titles = {a: params.models[a].title.replace("$", r"\$") for a in params.train.archs}
    written = {"md": out / "report.md", "tex": out / "report.tex", "png": figures[0], "pdf": figures[1]}
    if data.runs is not None and data.analysis is not None:
        plot_seed_curves(data.runs, titles, figures)
        length = [out / context["findings"]["length_png"], out / context["findings"]["length_pdf"]]
        plot_length_accuracy(data.analysis, titles, length)
        written.update({"length_png": length[0], "length_pdf": length[1]})
    else:
        plot_learning_curves(data.histories, titles, figures)
    if data.diagnostics is not None:
        flow = [out / context["diagnosis"]["png"], out / context["diagnosis"]["pdf"]]
        plot_gradient_flow(data.diagnostics, titles, flow)
        written.update({"gradient_png": flow[0], "gradient_pdf": flow[1]})
    # The exact params this report was rendered with: the hash it prints is this file's.
    written["params"] = out / "params.yaml"
    write_bytes(written["params"], inputs.params.read_bytes())
    texts = render(context)
    write_text(written["md"], texts["md"])
    write_text(written["tex"], texts["tex"])
    written.update(write_tables(context, out))
    return written


TABLES = {"table1": "tables/table1.html", "part2": "tables/part2_checks.html"}


def _html_table(title: str, rows: Sequence[Sequence[object]]) -> str:
    """A small standalone HTML page with one table (Snakemake's HTML report shows it inline)."""
    cell = lambda tag, value: f"<{tag}>{html.escape(str(value))}</{tag}>"  # noqa: E731
    head = "".join(cell("th", value) for value in rows[0])
    body = "".join("<tr>" + "".join(cell("td", value) for value in row) + "</tr>\n" for row in rows[1:])
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{padding:4px 10px;border-bottom:1px solid #ccc;text-align:left}</style>"
        f"</head><body><p>{html.escape(title)}</p><table><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table></body></html>\n"
    )


def write_tables(context: Mapping[str, Any], out: Path) -> dict[str, Path]:
    """Table 1 and Part 2's check counts as small HTML tables (shown by `snakemake --report`)."""
    table1 = [["architecture", "id", "RNN/LSTM parameters", "test accuracy % (mean)", "± std", "n", "seeds", "original test accuracy %"]]
    table1 += [
        [m["title"], m["id"], m["rnn_params"], m["test_acc"], m["test_acc_std"], m["n"], m["seeds"], m["test_acc_original"] or ""]
        for m in context["models"]
    ]
    part2 = context["part2"]
    checks = [
        ["check", "passed", "of"],
        ["numeric checks (autograd, finite differences, gradcheck)", part2["numeric_passed"], part2["numeric_total"]],
        ["published answers that agree with the derivation", part2["published_agreeing"], part2["published_checked"]],
    ]
    paths = {name: out / relative for name, relative in TABLES.items()}
    write_text(paths["table1"], _html_table("Table 1: " + str(context["table"]["caption"]), table1))
    write_text(paths["part2"], _html_table("Part 2: the derived gradients, checked", checks))
    return paths
