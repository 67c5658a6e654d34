"""Stages ``report`` and ``pdf``: the assignment report, regenerated from the results files.

    python workflow/scripts/report.py --params params.yaml --summary results/summary.json \\
        --metrics results/metrics --history results/history --models results/models \\
        --data-stats results/data/stats.json --embedding-stats results/embedding/stats.json \\
        --triplet results/triplet/verification.json --out report
    python workflow/scripts/pdf.py --tex report/report.tex --out report/report.pdf

``report`` builds ONE Jinja2 context from those files and params.yaml (:func:`build_context`)
and renders it twice, with ``templates/report.md.j2`` and ``templates/report.tex.j2``, into
``<out>/report.md`` and ``<out>/report.tex``; it also draws ``<out>/figures/learning_curves.png``
(for Markdown) and ``.pdf`` (vector, for LaTeX). The layout follows the original report
(shared/reference/assignment2-report.md) section by section. Every number comes from a results
file or params.yaml; the original's own Table 1 values, printed beside ours and labelled as the
original's, come from ``templates/original_values.yaml``.

In the ``.tex`` every value from data is escaped for LaTeX unless it is a :class:`TexRaw`
(formulas from verification.json, verbatim ``print(model)`` blocks), so an id like
``biRNN_2`` or a title with ``%`` cannot break the document.

``pdf`` runs latexmk in a temporary folder and moves the finished PDF into place atomically.
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
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import matplotlib
import yaml
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .analysis import analyse, load_runs
from .config import Params, load_params
from .errors import UserError
from .fileio import read_json, write_bytes, write_text
from .findings import FIGURE_RC, findings_context, plot_length_accuracy, plot_seed_curves, save_figure, sci
from .provenance import code_version
from .triplet import GENERIC
from .vocab import TOKEN_PATTERN

TEMPLATES = Path(__file__).with_name("templates")
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


class TexRaw(str):
    """Text the ``.tex`` renderer emits unchanged: LaTeX source, or a verbatim block's body.

    Any other string from the context is escaped there; Markdown shows both as they are.
    """


_TEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_TEX_PATTERN = re.compile("|".join(re.escape(c) for c in _TEX_SPECIALS))


def tex_escape(text: str) -> str:
    """``text`` as LaTeX that prints it literally (the ten characters LaTeX treats specially)."""
    return _TEX_PATTERN.sub(lambda m: _TEX_SPECIALS[m.group()], text)


def _tex_finalize(value: Any) -> Any:
    if isinstance(value, TexRaw):
        return value
    if isinstance(value, str):
        return tex_escape(value)
    return value


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
    columns = ("epoch", "train_loss", "train_acc", "valid_loss", "valid_acc")
    if not rows or any(c not in rows[0] for c in columns):
        raise UserError(f"{path} has no rows or lacks one of {', '.join(columns)}; rerun stages `train` and `summarize`")
    history = {c: [float(row[c]) for row in rows] for c in columns}
    # Written by the train stage since it records gradient norms; older runs lack it.
    if "rnn_grad_norm_mean" in rows[0]:
        history["rnn_grad_norm_mean"] = [float(row["rnn_grad_norm_mean"]) for row in rows]
    return history


# ---------------------------------------------------------------------------- formatting


def _count(n: int) -> str:
    return f"{n:,}"


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.2f}"


def _seconds(s: float) -> str:
    return f"{s:,.1f} s"


def _number(x: float) -> str:
    """A measured float as the shortest text that reads back exactly (0, 1, 0.5, 1e-09)."""
    return f"{x + 0.0:g}"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


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
            blas = _and(sorted({str(entry["core"]) for entry in kernels.get("blas") or []})) or "unknown"
            packages = ", ".join(f"{name} {version}" for name, version in numerics["packages"].items() if version)
            aten = kernels["torch_cpu_capability"]
            line = f"numerics.cpu {numerics['setting']} ({pinned}); ATen {aten}, OpenBLAS {blas}; {packages}; {numerics['cpu']}"
        if line not in lines:
            lines.append(line)
    return " | ".join(lines)


def _threads_text(params: Params, metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """The torch threads of the runs, e.g. "1 torch thread(s) per run (2-level bi-LSTM: 1–2, growing
    onto idle cores)": a job whose results do not depend on its thread count may grow
    (imdb_rnn/threads.py); ``thread_seconds`` says what each run used."""
    used = {arch: sorted({int(t) for t in m.get("thread_seconds") or [m["threads"]]}) for arch, m in metrics.items()}
    fixed = sorted({counts[0] for counts in used.values() if len(counts) == 1})
    grown = [f"{params.models[arch].title}: {counts[0]}–{counts[-1]}" for arch, counts in used.items() if len(counts) > 1]
    text = f"{_and([str(t) for t in fixed])} torch thread(s) per run" if fixed else "torch threads per run"
    return text + (f" ({'; '.join(grown)}, growing onto idle cores)" if grown else "")


def _partial(loss: str, wrt: str) -> TexRaw:
    """d loss / d wrt as LaTeX; both arrive as LaTeX (from verification.json)."""
    return TexRaw(rf"\frac{{\partial {loss}}}{{\partial {wrt}}}")


# ------------------------------------------------------------------------------ Part 1


def _embedding_text(stats: Mapping[str, Any], used: Sequence[str], unsup: int) -> str:
    """Which initialisation the runs used, described from the embed stage's statistics."""
    if list(used) != [stats["init"]]:
        return f"{_and(list(used))} (from the runs' metrics; the embed stage prepared {stats['init']} vectors)"
    coverage = f"{100 * stats['coverage']:.2f}% of the vocabulary has a pretrained vector"
    if stats["init"] == "word2vec":
        corpus = stats.get("corpus")
        source = (
            f"the {_count(corpus['train_reviews'])} training-split reviews and the {_count(unsup)} unlabelled reviews, "
            f"{_count(corpus['reviews'])} reviews and {_count(corpus['words'])} words in all"
            if corpus
            else f"the training split and the {_count(unsup)} unlabelled reviews"
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
                "rnn_params": _count(run["rnn_params"]),
                "total_params": _count(run["total_params"]),
                "test_acc": _percent(entry["test_acc_mean"]),
                "test_acc_std": _percent(entry["test_acc_std"]),
                "n": entry["n"],
                "seeds": ", ".join(str(s) for s in entry["seeds"]),
                "test_acc_by_seed": ", ".join(_percent(a) for a in entry["test_acc_by_seed"].values()),
                "best_epoch": run["best_epoch"],
                "train_seconds": _seconds(run["train_seconds"]),
                "train_seconds_total": _seconds(entry["train_seconds_total"]),
                "code_versions": entry.get("code_versions", ["unknown"]),
                "rnn_params_original": _count(reference["rnn_params"]) if reference else None,
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
        "titles": _and([params.models[a].title for a in params.train.archs]),
        "epochs": params.train.epochs,
        "batch_size": params.train.batch_size,
        "lr": _number(params.train.lr),
        "seeds": ", ".join(str(s) for s in seeds),
        "primary_seed": seeds[0],
        "n": ns[-1],
        "embedding": _embedding_text(embedding, sorted({m["embedding_init"] for m in metrics.values()}), data["unsup_reviews"]),
        "devices": _and(sorted({m["device"] for m in metrics.values()})),
        "threads": _threads_text(params, metrics),
        "numerics": _numerics_text(metrics),
        "labelled": _count(splits["train"]["reviews"] + splits["valid"]["reviews"]),
        "train": _count(splits["train"]["reviews"]),
        "valid": _count(splits["valid"]["reviews"]),
        "test": _count(splits["test"]["reviews"]),
        "valid_percent": f"{100 * params.data.valid_fraction:g}",
        "train_percent": f"{100 * (1 - params.data.valid_fraction):g}",
        "split_seed": data["seed"],
        "limit": _count(data["limit"]) if data["limit"] else None,
        "vocab_size": _count(data["vocab"]["size"]),
        "vocab_max": _count(data["vocab"]["max_size"]),
        # On a small sample every distinct training token fits under the cap.
        "vocab_words": _count(data["vocab"]["size"] - len(data["vocab"]["specials"])),
        "vocab_capped": data["vocab"]["size"] - len(data["vocab"]["specials"]) >= data["vocab"]["max_size"],
        "specials": list(data["vocab"]["specials"]),
        "tokens_mean": f"{splits['train']['tokens']['mean']:.1f}",
        "token_pattern": TOKEN_PATTERN,
        "dropout": _and(sorted({_number(params.models[a].dropout) for a in params.train.archs})),
        "clip_norm": None if params.train.clip_norm is None else _number(params.train.clip_norm),
        "dropped_low": f"{100 * min(m['tokens_dropped_fraction'] for m in metrics.values()):.2f}",
        "dropped_high": f"{100 * max(m['tokens_dropped_fraction'] for m in metrics.values()):.2f}",
        "tokens_median": _number(splits["train"]["tokens"]["median"]),
        "oov_test": f"{100 * splits['test']['oov_rate']:.2f}%",
    }


# ------------------------------------------------------------------------------ Part 2


def _numeric_ok(numeric: Mapping[str, Any], target: str) -> bool:
    """Every numeric check and gradcheck of ``target`` ("q3", "q5", …) passed."""
    checks = [c["passed"] for c in numeric["checks"] if c["target"] == target]
    checks += [g["passed"] for g in numeric["gradcheck"] if target in g["target"].split("+")]
    return bool(checks) and all(checks)


def _mark(ok: bool) -> TexRaw:
    return TexRaw(r"\checkmark" if ok else r"\times")


def _formula(lhs: TexRaw, rhs: str, verified: bool, published: Mapping[str, Any] | None, always_original: bool = False) -> dict[str, Any]:
    """One derived formula with its verdict and, where it reads differently (or always, with
    ``always_original``), the original's form.

    ``verdict`` is ``\\checkmark`` when the formula passed the numeric checks and, where the
    original gives it, equals the original's answer; ``\\times`` otherwise, with ``note``
    saying why.
    """
    agrees = published is None or published["agrees"]
    shown_differently = published is not None and (always_original or published["latex_expected"] != rhs)
    if not verified:
        note = r"\text{numeric check failed}"
    elif shown_differently or not agrees:
        note = rf"\text{{original: }} {published['latex_expected']}"
    else:
        note = ""
    return {
        "lhs": lhs,
        "rhs": TexRaw(rhs),
        "verdict": _mark(verified and agrees),
        "note": TexRaw(note),
        "verified": verified,
        "agrees": agrees,
    }


def _pattern(pattern: Sequence[int]) -> str:
    return "(" + ", ".join(str(c) for c in pattern) + ")"


def _q2(v: Mapping[str, Any]) -> dict[str, Any]:
    q2, kink, numeric = v["q2"], v["kink"], v["numeric"]
    sym = v["problem"]["symbols_latex"]
    regimes = {r["regime"]: r for r in q2["regimes"]}
    inactive_ok = _numeric_ok(numeric, "q2 F<0")
    inactive = [_formula(_partial("L^T", sym[n]), regimes["F < 0"]["gradients_latex"][n], inactive_ok, None) for n in GENERIC]
    sides = {s["side"]: s for s in q2["one_sided"]}
    point = q2["kink_point"]
    return {
        "F": TexRaw(q2["F_norm_latex"]),
        "F_scalar": TexRaw(q2["F_latex"]),
        "F_scalar_mark": _mark(q2["F_norm_is_F"]),
        "partials": [_partial("L^T", sym[n]) for n in GENERIC],
        "wrt": [TexRaw(sym[n]) for n in GENERIC],
        "inactive": inactive,
        "inactive_mark": _mark(inactive_ok and all(f["rhs"] == "0" for f in inactive)),
        "one_sided": {
            side: {
                "max_at_zero": TexRaw(s["max_at_zero"]),
                "max_value": TexRaw(s["max_value_latex"]),
                "quotient": TexRaw(s["quotient_latex"]),
                "limit": TexRaw(s["limit_latex"]),
            }
            for side, s in sides.items()
        },
        "differentiable": q2["differentiable_at_zero"],
        "relation": TexRaw(r"=" if q2["differentiable_at_zero"] else r"\neq"),
        "left": _number(kink["left_derivative"]),
        "right": _number(kink["right_derivative"]),
        "left_quotients": ", ".join(_number(q) for q in kink["left_quotients"]),
        "right_quotients": ", ".join(_number(q) for q in kink["right_quotients"]),
        "steps": ", ".join(_number(s) for s in kink["steps"]),
        "confirmed": kink["agrees_with_analytic"],
        "confirmed_mark": _mark(kink["agrees_with_analytic"]),
        "heaviside": TexRaw(q2["sympy_heaviside_at_zero_latex"]),
        "kink_point": TexRaw(
            r",\ ".join(f"{sym[n]} = {_number(point[n])}" for n in (*GENERIC, v["problem"]["margin"])) + rf"\ \Rightarrow\ F = {_number(point['F'])}"
        ),
        "subgradients": [
            {
                "call": s["call"],
                "slope": _number(s["dL_dF_at_zero"]),
                "gradients": "(" + ", ".join(_number(s["gradients_at_kink_point"][n]) for n in GENERIC) + ")",
            }
            for s in q2["subgradients"]
        ],
    }


def _q4(v: Mapping[str, Any]) -> dict[str, Any]:
    q4 = v["q4"]
    losses = {t["name"]: TexRaw(t["latex"]) for t in v["problem"]["triplets"]}
    return {
        "patterns": [
            {
                "pattern": _pattern(p["pattern"]),
                "valid": p["valid"],
                "mark": _mark(p["valid"]),
                "defects": "; ".join(p["defects"]),
                "triplets": p["triplets"],
            }
            for p in q4["published_patterns"]
        ],
        "valid": _and([_pattern(p) for p in q4["published_valid_patterns"]]),
        "valid_checked": q4["published_patterns_valid"],
        "checked": q4["published_patterns_checked"],
        "valid_patterns": [{"pattern": _pattern(p["pattern"]), "triplets": p["triplets"]} for p in q4["valid_patterns"]],
        "total_valid": q4["total_valid"],
        "counting": TexRaw(q4["counting"].replace("*", r" \cdot ")),
        "pattern_count": q4["pattern_count"],
        "n_classes": len(v["problem"]["classes"]),
        "published_count": q4["published_count"],
        "published_counts_patterns": q4["published_count"] == q4["pattern_count"],
        "count": q4["used_count"],
        "all_valid": q4["used_all_valid"],
        "distinct": q4["used_distinct"],
        "mark": _mark(q4["used_all_valid"] and q4["used_distinct"]),
        "by_pattern": [
            {"pattern": _pattern(g["pattern"]), "losses": TexRaw(", ".join(losses[name] for name in g["losses"]))} for g in q4["used_by_pattern"]
        ],
    }


def _q5(v: Mapping[str, Any], published: Mapping[tuple[str, str], Mapping[str, Any]]) -> dict[str, Any]:
    """Q5 as one table: a row per triplet loss, a column per embedding, and the original's
    agreement per row; a cell that disagrees is marked and listed with the original's form."""
    sym = v["problem"]["symbols_latex"]
    losses = {t["name"]: TexRaw(t["latex"]) for t in v["problem"]["triplets"]}
    numeric_ok = _numeric_ok(v["numeric"], "q5")
    rows, disagreements = [], []
    for number, (loss, row) in enumerate(v["q5_latex"].items(), start=1):
        cells, agreeing, checked = [], 0, 0
        for e, latex in row.items():
            entry = published.get((f"Q5.{number}", f"d{loss}/d{e}"))
            agrees = entry is None or entry["agrees"]
            checked += entry is not None
            agreeing += entry is not None and entry["agrees"]
            cells.append(TexRaw(latex if agrees else rf"{latex}\ \times"))
            if not agrees:
                disagreements.append({"lhs": _partial(losses[loss], sym[e]), "derived": TexRaw(latex), "original": TexRaw(entry["latex_expected"])})
        rows.append(
            {"loss": losses[loss], "cells": cells, "agreeing": agreeing, "checked": checked, "mark": _mark(numeric_ok and agreeing == checked)}
        )
    embeddings = list(next(iter(v["q5_latex"].values()))) if v["q5_latex"] else []
    tally = v["summary"]["by_question"].get("Q5", {"checked": 0, "agreeing": 0})
    return {
        "header": [TexRaw(sym[e]) for e in embeddings],
        "column_spec": TexRaw("{@{}c|" + "c" * len(embeddings) + "|c@{}}"),
        "rows": rows,
        "agreeing": tally["agreeing"],
        "checked": tally["checked"],
        "numeric_ok": numeric_ok,
        "disagreements": disagreements,
    }


# Terms of a general Q6 gradient per line in the .tex, so the longest fits the page.
TERMS_PER_LINE = 3


def _q6_general(v: Mapping[str, Any]) -> list[dict[str, Any]]:
    sym = v["problem"]["symbols_latex"]
    out = []
    for e, terms in v["q6_general_latex"].items():
        parts = [t["term"] for t in terms]
        lines = [" + ".join(parts[i : i + TERMS_PER_LINE]) for i in range(0, len(parts), TERMS_PER_LINE)] or ["0"]
        out.append({"lhs": _partial("L", sym[e]), "rhs": TexRaw(" + ".join(parts) or "0"), "lines": [TexRaw(line) for line in lines]})
    return out


def _part2(v: Mapping[str, Any]) -> dict[str, Any]:
    numeric, summary = v["numeric"], v["summary"]
    sym = v["problem"]["symbols_latex"]
    published = {(p["question"], p["target"]): p for p in v["published"]}
    q3_ok = _numeric_ok(numeric, "q3")
    q3 = [_formula(_partial("L^T", sym[n]), v["q3"][n]["latex"], q3_ok, published.get(("Q3", f"dL/d{n}"))) for n in GENERIC]

    triplets = [_triplet_latex(t, sym) for t in v["problem"]["triplets"]]
    half = (len(triplets) + 1) // 2
    classes = [TexRaw(r"\{" + ", ".join(sym[n] for n in group) + r"\}") for group in v["problem"]["classes"]]

    q5 = _q5(v, published)
    q6_ok = _numeric_ok(numeric, "q6")
    q6 = [
        _formula(_partial("L", sym[e]), latex, q6_ok, published.get(("Q6", f"dL/d{e}")), always_original=True) for e, latex in v["q6_latex"].items()
    ]
    q6_general_ok = _numeric_ok(numeric, "q6 general") and v["q6_general_all_active_is_q6"]
    by_question = summary["by_question"]

    return {
        "numeric_passed": summary["numeric_checks_passed"],
        "numeric_total": summary["numeric_checks"],
        "published_agreeing": summary["published_agreeing"],
        "published_checked": summary["published_checked"],
        "disagreements": len(summary["disagreements"]),
        "points": numeric["points"],
        "dims": _and([str(d) for d in numeric["dims"]]),
        "problem": {
            "classes": classes,
            "n_classes": len(classes),
            "embeddings": TexRaw(", ".join(sym[n] for group in v["problem"]["classes"] for n in group)),
            "n_embeddings": sum(len(group) for group in v["problem"]["classes"]),
            "n_triplets": len(triplets),
            "rows": [TexRaw(" & ".join(triplets[i::half])) for i in range(half)],
            "column_spec": TexRaw("{" + "c" * min(2, len(triplets)) + "}"),
            "agreement": {q: f"{t['agreeing']}/{t['checked']}" for q, t in by_question.items()},
        },
        "q2": _q2(v),
        "q3": q3,
        "q4": _q4(v),
        "q5": q5,
        "q6": q6,
        "q6_general": _q6_general(v),
        "q6_general_mark": _mark(q6_general_ok),
        "q6_agreement": f"{by_question.get('Q6', {}).get('agreeing', 0)}/{by_question.get('Q6', {}).get('checked', 0)}",
        "all_verified": all(f["verified"] and f["agrees"] for f in [*q3, *q6]) and q5["numeric_ok"] and not q5["disagreements"] and q6_general_ok,
    }


def _triplet_latex(t: Mapping[str, str], sym: Mapping[str, str]) -> str:
    members = ", ".join(sym[t[role]] for role in ("anchor", "positive", "negative"))
    return f"{t['latex']} = ({members})"


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
        "archive_reviews": _count(sum(data["archive"]["reviews"].values())),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "cpus": os.cpu_count() or "unknown",
        "devices": devices,
        "threads": threads,
        "numerics": numerics,
        "prepare_seconds": _seconds(data["seconds"]["total"]),
        "read_seconds": _seconds(data["seconds"]["read_archive"]),
        "embed_seconds": _seconds(embedding["seconds"]),
        "train": [{"title": m["title"], "seconds": m["train_seconds"], "total": m["train_seconds_total"], "n": m["n"]} for m in models],
    }


# ----------------------------------------------------------------------------- context


def build_context(inputs: ReportInputs, params: Params, runs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The one context both templates render: every number already formatted as text.

    ``runs`` (from :func:`imdb_rnn.analysis.load_runs`) is read from ``inputs.runs`` when not given.
    """
    summary = _load_json(inputs.summary, "summarize")
    metrics = {arch: _load_json(inputs.metrics / f"{arch}.json", "summarize") for arch in params.train.archs}
    for arch in params.train.archs:
        if arch not in summary:
            raise UserError(f"{inputs.summary} has no entry for {arch}; rerun stage `summarize`")
        if metrics[arch]["epochs"] != params.train.epochs:
            raise UserError(
                f"{inputs.metrics / f'{arch}.json'} is from a {metrics[arch]['epochs']}-epoch run but train.epochs is "
                f"{params.train.epochs} in {inputs.params}; rerun stages `train` and `summarize`"
            )
    data = _load_json(inputs.data_stats, "prepare")
    embedding = _load_json(inputs.embedding_stats, "embed")
    verification = _load_json(inputs.verification, "gradcheck")
    part1 = _part1(params, data, embedding, metrics, summary)
    models = _models(params, inputs, summary, metrics)
    findings = None
    if runs is None and inputs.runs is not None:
        runs = load_runs(inputs.runs, params.train.archs, params.train.all_seeds)
    if runs is not None:
        diagnostics = load_diagnostics(inputs, params.train.archs) if inputs.diagnostics is not None else None
        analysis = analyse(runs)
        findings = findings_context(params, runs, analysis, diagnostics)
        findings["analysis"] = analysis  # the raw numbers, for the length figure
        findings["length_pdf"] = TexRaw(findings["length_pdf"])
    return {
        "findings": findings,
        "report": params.report.model_dump(),
        "part1": part1,
        "models": models,
        "table": {"columns": list(TABLE_COLUMNS), "caption": "Results"},
        "part2": _part2(verification),
        # A file name LaTeX reads, not text it prints: escaping its "_" would change it.
        "figure": {"png": f"figures/{FIGURE}.png", "pdf": TexRaw(f"figures/{FIGURE}.pdf"), "seed": part1["primary_seed"]},
        "provenance": _provenance(params, data, embedding, models, part1["devices"], part1["threads"], part1["numerics"], inputs.params),
        "diagnosis": _diagnosis(params, inputs, metrics) if inputs.diagnostics is not None else None,
    }


def load_diagnostics(inputs: ReportInputs, archs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The diagnose stage's gradient profile of each architecture."""
    assert inputs.diagnostics is not None
    return {arch: _load_json(inputs.diagnostics / f"{arch}.json", "diagnose") for arch in archs}


def _ratio(value: float) -> str:
    return sci(value, 2)


def _diagnosis(params: Params, inputs: ReportInputs, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Section 3.1: gradient flow by position, beside what the learning curves show."""
    profiles = load_diagnostics(inputs, params.train.archs)
    rows = []
    for arch in params.train.archs:
        doc, history = profiles[arch], read_history(inputs.history / f"{arch}.csv")
        norms = history.get("rnn_grad_norm_mean")
        rows.append(
            {
                "title": params.models[arch].title,
                "last_over_middle": _ratio(doc["trained"]["last_over_middle"]),
                "last_over_first": _ratio(doc["trained"]["last_over_first"]),
                "initial_last_over_middle": _ratio(doc["initial"]["last_over_middle"]),
                "train_acc_last": _percent(history["train_acc"][-1]),
                "valid_acc_range": f"{_percent(min(history['valid_acc']))}–{_percent(max(history['valid_acc']))}",
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
        "seed": metrics[params.train.archs[0]]["seed"],
        "png": f"figures/{GRADIENT_FIGURE}.png",
        "pdf": TexRaw(f"figures/{GRADIENT_FIGURE}.pdf"),
    }


# ------------------------------------------------------------------------------ figure


def plot_learning_curves(histories: Mapping[str, Mapping[str, list[float]]], titles: Mapping[str, str], targets: Iterable[Path]) -> None:
    """Loss and accuracy per epoch, training (solid) and validation (dashed), one colour per
    architecture; written to each of ``targets`` (the format follows the suffix)."""
    # A bare Figure, not pyplot: no GUI backend and no global state in a headless stage;
    # savefig draws PNG with Agg and PDF with matplotlib's vector PDF backend.
    fig = Figure(figsize=(8, 3.8), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    handles = []
    for i, (arch, h) in enumerate(histories.items()):
        colour = colours[i % len(colours)]
        for split, style in (("train", "-"), ("valid", "--")):
            loss_ax.plot(h["epoch"], h[f"{split}_loss"], style, color=colour, marker="o", markersize=3)
            acc_ax.plot(h["epoch"], [100 * a for a in h[f"{split}_acc"]], style, color=colour, marker="o", markersize=3)
        handles.append(Line2D([], [], color=colour, label=titles[arch]))
    handles += [Line2D([], [], color="black", linestyle=style, label=label) for style, label in (("-", "training"), ("--", "validation"))]
    loss_ax.set(xlabel="epoch", ylabel="binary cross-entropy loss", title="Loss")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (loss_ax, acc_ax):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    # One legend below both panels: colour = architecture, line style = split.
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
    _save_figure(fig, targets)


def plot_gradient_flow(profiles: Mapping[str, Mapping[str, Any]], titles: Mapping[str, str], targets: Iterable[Path]) -> None:
    """Mean |d loss / d embedding| by position, log scale, one colour per architecture: trained
    weights solid, the same model at initialisation dotted."""
    with matplotlib.rc_context(FIGURE_RC):
        _draw_gradient_flow(profiles, titles, targets)


def _draw_gradient_flow(profiles: Mapping[str, Mapping[str, Any]], titles: Mapping[str, str], targets: Iterable[Path]) -> None:
    # 6.3 in = the LaTeX text width: the figure is shown at its own size, text as large as the body's
    fig = Figure(figsize=(6.3, 3.0), layout="constrained")
    ax = fig.subplots()
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    handles = []
    for i, (arch, doc) in enumerate(profiles.items()):
        colour = colours[i % len(colours)]
        for state, style in (("trained", "-"), ("initial", ":")):
            # Norms flushed to zero (below ~1e-38: the CPU flushes denormals) have no log.
            values = [v if v > 0 else float("nan") for v in doc[state]["profile"]]
            ax.plot(range(1, len(values) + 1), values, style, color=colour, linewidth=1.2)
        handles.append(Line2D([], [], color=colour, label=titles[arch]))
    handles += [Line2D([], [], color="black", linestyle=style, label=label) for style, label in (("-", "trained"), (":", "at initialisation"))]
    ax.set_yscale("log")
    ax.set(xlabel="token position in the review", ylabel="mean |∂ loss / ∂ embedding|", title="Gradient reaching each position")
    ax.grid(alpha=0.3, which="both")
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    _save_figure(fig, targets)


def _save_figure(fig: Figure, targets: Iterable[Path]) -> None:
    save_figure(fig, targets)


# ---------------------------------------------------------------------------- rendering


def _environment(**delimiters: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        **delimiters,
    )


def render(context: Mapping[str, Any]) -> dict[str, str]:
    """The Markdown and LaTeX texts of one context."""
    markdown = _environment().get_template("report.md.j2").render(context)
    # LaTeX is full of braces and #, so its template marks Jinja with << >>, <% %> and <# #>.
    latex_env = _environment(
        variable_start_string="<<",
        variable_end_string=">>",
        block_start_string="<%",
        block_end_string="%>",
        comment_start_string="<#",
        comment_end_string="#>",
        finalize=_tex_finalize,
    )
    # For a macro's output, which is LaTeX already: each value in it was escaped when emitted.
    latex_env.filters["latex"] = TexRaw
    latex = latex_env.get_template("report.tex.j2").render(context)
    return {"md": markdown, "tex": latex}


def write_report(inputs: ReportInputs, out: str | os.PathLike[str]) -> dict[str, Path]:
    """Render ``report.md``, ``report.tex`` and the learning-curve figure under ``out``."""
    out = Path(out)
    params = load_params(inputs.params)
    runs = load_runs(inputs.runs, params.train.archs, params.train.all_seeds) if inputs.runs is not None else None
    context = build_context(inputs, params, runs)
    histories = {arch: read_history(inputs.history / f"{arch}.csv") for arch in params.train.archs}
    figures = [out / context["figure"]["png"], out / context["figure"]["pdf"]]
    # matplotlib reads $…$ in a label as math: a title is text, so its dollars are escaped.
    titles = {a: params.models[a].title.replace("$", r"\$") for a in params.train.archs}
    written = {"md": out / "report.md", "tex": out / "report.tex", "png": figures[0], "pdf": figures[1]}
    if runs is not None:
        plot_seed_curves(runs, titles, figures)
        length = [out / context["findings"]["length_png"], out / context["findings"]["length_pdf"]]
        plot_length_accuracy(context["findings"]["analysis"], titles, length)
        written.update({"length_png": length[0], "length_pdf": length[1]})
    else:
        plot_learning_curves(histories, titles, figures)
    # The exact params this report was rendered with: the hash it prints is this file's.
    written["params"] = out / "params.yaml"
    write_bytes(written["params"], inputs.params.read_bytes())
    if context["diagnosis"] is not None:
        flow = [out / context["diagnosis"]["png"], out / context["diagnosis"]["pdf"]]
        plot_gradient_flow(load_diagnostics(inputs, params.train.archs), titles, flow)
        written.update({"gradient_png": flow[0], "gradient_pdf": flow[1]})
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
