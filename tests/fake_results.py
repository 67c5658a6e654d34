"""A fake but complete results tree for the summarize and report tests.

Four architectures × two seeds with hand-picked accuracies whose means and standard deviations
are easy to check by hand (dyadic fractions, so the means are exact in binary), the printouts
of the original report, prepare/embed statistics shaped like the stages write them, and a real
verification.json from imdb_rnn.triplet (few points, so it takes about two seconds).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from imdb_rnn.records import PREDICTIONS, run_dir, write_predictions
from imdb_rnn.report.inputs import ReportInputs
from imdb_rnn.stats.summarize import summarize
from imdb_rnn.train.diagnostics import summarize_profile
from imdb_rnn.triplet.document import verify
from imdb_rnn.triplet.problem import load_problem

ARCHS = ("bilstm2", "birnn2", "birnn1", "rnn1")
# A fifth architecture, not in the original: the report must carry it everywhere (tests/test_report.py).
GRU = "gru1"
SEEDS = (1234, 7)
EPOCHS = 3
TITLES = {"bilstm2": "2-level bi-LSTM", "birnn2": "2-level bi-RNN", "birnn1": "bi-RNN", "rnn1": "RNN", GRU: "GRU"}
# Test accuracy per seed (primary seed 1234 first) and what the summary must make of them.
TEST_ACC = {"bilstm2": (0.875, 0.8125), "birnn2": (0.5, 0.625), "birnn1": (0.5625, 0.4375), "rnn1": (0.75, 0.6875), GRU: (0.8125, 0.75)}
VALID_ACC = {"bilstm2": (0.8750, 0.8125), "birnn2": (0.625, 0.5), "birnn1": (0.5, 0.5), "rnn1": (0.75, 0.75), GRU: (0.75, 0.8125)}
RNN_PARAMS = {"bilstm2": 1446400, "birnn2": 361600, "birnn1": 120800, "rnn1": 60400, GRU: 181200}
TOTAL_PARAMS = {"bilstm2": 3947001, "birnn2": 2862201, "birnn1": 2621401, "rnn1": 2560601, GRU: 2681401}
STRUCTURES = {
    "bilstm2": (
        "MyRNN(\n"
        "  (embedding): Embedding(25002, 100, padding_idx=1)\n"
        "  (lstm): LSTM(100, 200, num_layers=2, dropout=0.5, bidirectional=True)\n"
        "  (fc): Linear(in_features=400, out_features=1, bias=True)\n"
        "  (dropout): Dropout(p=0.5, inplace=False)\n"
        ")\n"
    ),
    "birnn2": (
        "biRNN_2(\n"
        "  (embedding): Embedding(25002, 100, padding_idx=1)\n"
        "  (rnn): RNN(100, 200, num_layers=2, dropout=0.5, bidirectional=True)\n"
        "  (fc): Linear(in_features=400, out_features=1, bias=True)\n"
        "  (dropout): Dropout(p=0.5, inplace=False)\n"
        ")\n"
    ),
    "birnn1": (
        "biRNN_1(\n"
        "  (embedding): Embedding(25002, 100, padding_idx=1)\n"
        "  (rnn): RNN(100, 200, dropout=0.5, bidirectional=True)\n"
        "  (fc): Linear(in_features=400, out_features=1, bias=True)\n"
        "  (dropout): Dropout(p=0.5, inplace=False)\n"
        ")\n"
    ),
    "rnn1": (
        "RNN_1(\n"
        "  (embedding): Embedding(25002, 100, padding_idx=1)\n"
        "  (rnn): RNN(100, 200, dropout=0.5)\n"
        "  (fc): Linear(in_features=200, out_features=1, bias=True)\n"
        "  (dropout): Dropout(p=0.5, inplace=False)\n"
        ")\n"
    ),
}
STRUCTURES[GRU] = (
    "GRU_1(\n"
    "  (embedding): Embedding(25002, 100, padding_idx=1)\n"
    "  (gru): GRU(100, 200, dropout=0.5)\n"
    "  (fc): Linear(in_features=200, out_features=1, bias=True)\n"
    "  (dropout): Dropout(p=0.5, inplace=False)\n"
    ")\n"
)
CLASS_NAMES = {"bilstm2": "MyRNN", "birnn2": "biRNN_2", "birnn1": "biRNN_1", "rnn1": "RNN_1", GRU: "GRU_1"}
# An author with characters LaTeX treats specially, so the report must escape data.
AUTHOR = "Ao Peng & Co. #1 (100% ~ {ok})"


def params_yaml(seeds: tuple[int, ...] = SEEDS, epochs: int = EPOCHS, archs: tuple[str, ...] = ARCHS) -> str:
    """A params.yaml for the four architectures of the original report (or those of ``archs``)."""
    models = {
        "bilstm2": "cell: lstm, num_layers: 2, bidirectional: true",
        "birnn2": "cell: rnn, num_layers: 2, bidirectional: true",
        "birnn1": "cell: rnn, num_layers: 1, bidirectional: true",
        "rnn1": "cell: rnn, num_layers: 1, bidirectional: false",
        GRU: "cell: gru, num_layers: 1, bidirectional: false",
    }
    lines = [
        "embedding: {init: word2vec, dim: 100}",
        f"train: {{archs: [{', '.join(archs)}], epochs: {epochs}, seed: {seeds[0]}, "
        f"seeds: [{', '.join(map(str, seeds))}], batch_size: 64, lr: 0.001}}",
        "models:",
        *(f"  {a}: {{class_name: {CLASS_NAMES[a]}, title: {TITLES[a]}, {models[a]}}}" for a in archs),
        f"report: {{author: {json.dumps(AUTHOR)}}}",
    ]
    return "\n".join(lines) + "\n"


# The commits that trained seed 0 and seed 1 (the second with uncommitted code changes).
CODE_VERSIONS = ("1" * 40, "2" * 40 + "+dirty")


def history_csv(arch: str, seed_index: int, epochs: int = EPOCHS) -> str:
    """Curves that differ per architecture and seed, so a plot of them can be told apart."""
    rows = ["epoch,train_loss,train_acc,valid_loss,valid_acc,seconds,grad_norm_mean,grad_norm_max,rnn_grad_norm_mean,rnn_grad_norm_max"]
    rate = 0.02 * ((*ARCHS, GRU).index(arch) + 1)
    for epoch in range(1, epochs + 1):
        loss = 0.7 - rate * epoch - 0.01 * seed_index
        norms = f"{2.0 * epoch},{4.0 * epoch},{0.5 * epoch},{1.5 * epoch}"
        rows.append(f"{epoch},{loss:.4f},{0.5 + rate * epoch:.4f},{loss + 0.05:.4f},{0.48 + 0.8 * rate * epoch:.4f},{10.0 * epoch:.1f},{norms}")
    return "\n".join(rows) + "\n"


# What imdb_rnn.numerics.numeric_settings records under the avx2 pin.
NUMERICS = {
    "setting": "avx2",
    "env": {
        "OPENBLAS_CORETYPE": "Haswell",
        "OPENBLAS_L2_SIZE": None,
        "ATEN_CPU_CAPABILITY": "avx2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "MKL_CBWR": "AVX2",
        "MKL_ENABLE_INSTRUCTIONS": None,
    },
    "packages": {"torch": "2.13.0+cpu", "numpy": "2.4.6", "scipy": "1.17.1", "gensim": "4.4.0", "tokenizers": "0.23.3"},
    "cpu": "AMD EPYC",
    "kernels": {
        "torch_cpu_capability": "AVX2",
        "blas": [{"library": "openblas", "core": "Haswell", "version": "0.3.30", "module": "libscipy_openblas.so"}],
    },
    "python": "3.11.7",
}


def write_runs(
    runs: Path, seeds: tuple[int, ...] = SEEDS, epochs: int = EPOCHS, archs: tuple[str, ...] = ARCHS, test_acc: dict | None = None
) -> None:
    """``<runs>/<arch>/seed<k>/{metrics.json,history.csv,model.txt}`` as the train stage writes them
    (``test_acc``: arch -> one accuracy per seed, multiples of 1/16; default TEST_ACC)."""
    test_acc = test_acc or TEST_ACC
    for arch in archs:
        for i, seed in enumerate(seeds):
            folder = run_dir(runs, arch, seed)
            folder.mkdir(parents=True)
            metrics = {
                "arch": arch,
                "test_acc": test_acc[arch][i],
                "test_loss": 0.5 + i / 8,
                "valid_acc": VALID_ACC[arch][i % 2],
                "valid_loss": 0.45 + i / 8,
                "best_epoch": max(1, epochs - i),
                "rnn_params": RNN_PARAMS[arch],
                "total_params": TOTAL_PARAMS[arch],
                "epochs": epochs,
                "train_seconds": 100.0 + 10 * i,
                "train_tokens_per_second": 20000.0,
                "tokens_dropped_fraction": 0.0,
                "seed": seed,
                "device": "cpu",
                "threads": 1,
                # the bi-LSTM's job grew onto an idle core (imdb_rnn/train/threads.py)
                "max_threads": 2 if arch == "bilstm2" else 1,
                "thread_seconds": {"1": 60.0, "2": 40.0 + 10 * i} if arch == "bilstm2" else {"1": 100.0 + 10 * i},
                "embedding_init": "word2vec",
                "code_version": CODE_VERSIONS[i % 2],
                "numerics": NUMERICS,
            }
            (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
            (folder / "history.csv").write_text(history_csv(arch, i, epochs), encoding="utf-8")
            (folder / "model.txt").write_text(STRUCTURES[arch], encoding="utf-8")
            write_fake_predictions(folder / PREDICTIONS, test_acc[arch][i])


TEST_REVIEWS = 16  # every TEST_ACC is a multiple of 1/16


def write_fake_predictions(path: Path, accuracy: float) -> None:
    """16 test reviews (alternating labels, 10, 20, … 160 tokens): the first ``accuracy`` × 16 right."""
    right = round(accuracy * TEST_REVIEWS)
    labels = np.array([i % 2 for i in range(TEST_REVIEWS)], dtype=np.int8)
    preds = np.where(np.arange(TEST_REVIEWS) < right, labels, 1 - labels)
    logits = (2.0 * preds - 1) * (1 + np.arange(TEST_REVIEWS)) / 4
    names = [f"test/{'pos' if y else 'neg'}/{i}_{8 if y else 2}" for i, y in enumerate(labels)]
    write_predictions(path, names, labels, 10 * (1 + np.arange(TEST_REVIEWS)), logits)


def data_stats() -> dict:
    def split(reviews: int) -> dict:
        return {
            "reviews": reviews,
            "pos": reviews // 2,
            "neg": reviews // 2,
            "empty_reviews": 0,
            "tokens": {"mean": 269.89, "median": 202.0, "max": 2126, "min": 11, "total": 269 * reviews},
            "oov_rate": 0.016247,
        }

    return {
        "archive": {
            "reviews": {"test/neg": 12500, "test/pos": 12500, "train/neg": 12500, "train/pos": 12500, "train/unsup": 50000},
            "content_fingerprint": "9759749489d265e2166a6b3ea71836c313462c64b4e0150aeebc354814a94042",
            "invalid_utf8_reviews": {},
        },
        "limit": None,
        "seed": 1234,
        "splits": {"train": split(17500), "valid": split(7500), "test": split(25000)},
        "unsup_reviews": 50000,
        "vocab": {"size": 25002, "max_size": 25000, "specials": {"<unk>": 0, "<pad>": 1}, "fingerprint": "d2ae480bdc69"},
        "seconds": {"read_archive": 3.57, "total": 15.6},
    }


def embedding_stats() -> dict:
    return {
        "init": "word2vec",
        "dim": 100,
        "vocab_size": 25002,
        "corpus": {"train_reviews": 17500, "reviews": 67500, "words": 18123456},
        "window": 5,
        "min_count": 5,
        "epochs": 5,
        "seed": 1,
        "rows_with_vector": 24990,
        "coverage": 0.9996,
        "seconds": 91.23,
    }


def verification() -> dict:
    """A real verification document (a few points per check keep it quick)."""
    return verify(load_problem(), points=2, dims=(None, 3))


def gradient_profile(arch: str) -> list[float]:
    """40 positions: the first 10 at 1e-3, the middle 20 at 1e-4, the last 10 at 2 × 10^index."""
    return [1e-3] * 10 + [1e-4] * 20 + [2.0 * 10 ** (*ARCHS, GRU).index(arch)] * 10


def write_diagnostics(folder: Path, archs: tuple[str, ...] = ARCHS) -> None:
    """What the diagnose stage writes: ``<folder>/<arch>.json``, trained and initial profiles."""
    folder.mkdir(parents=True, exist_ok=True)
    for arch in archs:
        doc = {"arch": arch, "training_seed": SEEDS[0], "length": 40, "reviews": 8, "sample_seed": 0, "edge": 10}
        for state, profile in (("trained", gradient_profile(arch)), ("initial", [1.0] * 40)):
            values = np.array(profile)
            doc[state] = {"profile": profile, **summarize_profile(values)}
        (folder / f"{arch}.json").write_text(json.dumps(doc), encoding="utf-8")


def write_stage_outputs(results: Path, verification_doc: dict) -> None:
    """What prepare, embed and gradcheck leave under ``results/``."""
    for path, doc in (
        (results / "data" / "stats.json", data_stats()),
        (results / "embedding" / "stats.json", embedding_stats()),
        (results / "triplet" / "verification.json", verification_doc),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc), encoding="utf-8")


def make_tree(
    root: Path, verification: dict, seeds: tuple[int, ...] = SEEDS, archs: tuple[str, ...] = ARCHS, test_acc: dict | None = None
) -> ReportInputs:
    """params.yaml and a results tree as the earlier stages and summarize leave them."""
    (root / "params.yaml").write_text(params_yaml(seeds=seeds, archs=archs))
    results = root / "results"
    write_runs(results / "runs", seeds=seeds, archs=archs, test_acc=test_acc)
    write_stage_outputs(results, verification)
    write_diagnostics(results / "diagnostics", archs=archs)
    summarize(archs, seeds, results / "runs", results)
    return inputs_under(results, root / "params.yaml")


def inputs_under(results: Path, params: Path, experiments: Path | None = None) -> ReportInputs:
    """The report stage's inputs as the pipeline lays them out under ``results``."""
    return ReportInputs(
        params=params,
        experiments=experiments,
        summary=results / "summary.json",
        metrics=results / "metrics",
        history=results / "history",
        models=results / "models",
        data_stats=results / "data" / "stats.json",
        embedding_stats=results / "embedding" / "stats.json",
        verification=results / "triplet" / "verification.json",
        diagnostics=results / "diagnostics",
        runs=results / "runs",
    )
