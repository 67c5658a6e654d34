"""Part 1, in the original report's layout: the task, the setup, each model's printout, Table 1.

The setup says what the original states and, apart from it, every choice this reproduction
made, each with its reason (from params.yaml and the prepare and embed statistics). Table 1
sets the measured parameter counts and test accuracies (mean ± sample standard deviation
over the seeds, ``results/summary.json``) beside the original's (``original_values.yaml``).
"""

from __future__ import annotations

from typing import Any

from imdb_rnn.report.document import Table, data
from imdb_rnn.report.fmt import Markup, count, join_and, number_text, percent
from imdb_rnn.report.inputs import ReportData

TITLE = "Part 1"
LEVEL = 2
RESOURCES = ("part1.j2",)  # its template, read at run time (pipeline.codedeps)


def _embedding(d: ReportData) -> str:
    """How the embedding started, from the embed stage's statistics."""
    stats = d.embedding_stats
    used = sorted({m["embedding_init"] for m in d.metrics.values()})
    if used != [stats["init"]]:
        return f"{join_and(used)} (as the runs recorded it; the embed stage prepared {stats['init']} vectors)"
    coverage = f"{100 * stats['coverage']:.2f} % of the vocabulary has a pretrained vector"
    if stats["init"] == "word2vec":
        corpus = stats.get("corpus") or {}
        reviews = f"{count(corpus['reviews'])} reviews, {count(corpus['words'])} words" if corpus else "the training split and unlabelled reviews"
        return (
            f"word2vec vectors learned in-domain from the training split and the {count(d.data_stats['unsup_reviews'])} unlabelled "
            f"reviews ({reviews}; window {stats['window']}, min_count {stats['min_count']}, {stats['epochs']} epochs, seed "
            f"{stats['seed']}); {coverage}"
        )
    if stats["init"] == "glove":
        return f"GloVe vectors from {stats.get('glove_path', 'a GloVe file')}; {coverage}"
    return f"random, N(0, 1) as torch.nn.Embedding starts ({stats['dim']}-d), no pretrained vectors"


def _vocabulary(vocab: dict[str, Any]) -> str:
    """Which training tokens the vocabulary kept: the most frequent up to the cap, or all of them on a small sample."""
    words = vocab["size"] - len(vocab["specials"])
    if words >= vocab["max_size"]:
        return f"the {count(vocab['max_size'])} most frequent training tokens"
    return f"all {count(words)} distinct training tokens (fewer than the cap of {count(vocab['max_size'])})"


def _model_choice(d: ReportData) -> dict[str, str]:
    """What the printouts leave open about the model: loss, which state is classified, dropout, initialisation."""
    return {
        "what": "Model",
        "value": Markup(
            "one output logit with binary cross-entropy; the classifier reads the last layer's final hidden state "
            "(both directions' concatenated in the bidirectional models); dropout on the embedded words, between stacked "
            "layers and before the classifier (a one-layer RNN's own `dropout=0.5`, which its printout shows, does nothing "
            "in PyTorch); the embedding trained with the rest, "
            + ("its `<unk>` and `<pad>` rows starting at zero" if d.embedding_stats["init"] != "random" else "its `<pad>` row zero")
            + "; every other weight PyTorch's default initialisation"
        ),
        "why": "what the printouts imply (one output, a classifier over 400 or 200 inputs) and the tutorials' code "
        "otherwise; the printouts do not show where dropout is applied",
    }


def _choices(d: ReportData) -> list[dict[str, str]]:
    """Every choice the original does not state, with the value used and the reason for it."""
    p, stats = d.params, d.data_stats
    splits = stats["splits"]
    train = p.train
    dropped = sorted({m.get("tokens_dropped_fraction", 0.0) for m in d.metrics.values()})
    limit = f"a sample of {count(stats['limit'])} reviews per archive split (`data.limit`), " if stats["limit"] else ""
    optimizer = {"adam": "Adam", "sgd": "plain SGD"}[train.optimizer]
    plural = "s" if len(train.all_seeds) > 1 else ""
    batches = (
        f"reviews grouped by length, each training batch cut to its shortest member "
        f"(drops {100 * dropped[0]:.2f}{'–' + f'{100 * dropped[-1]:.2f}' if len(dropped) > 1 else ''} % of the training tokens); "
        "validation and test batches padded and each review read to its own end"
        if train.batching == "bucketed"
        else "tutorial style: shuffled, length-sorted within pools of 100 batches, padded, and read through the padding"
    )
    return [
        {
            "what": "Data",
            "value": Markup(
                f"{limit}the {count(splits['train']['reviews'] + splits['valid']['reviews'])} labelled training reviews split "
                f"{100 * (1 - p.data.valid_fraction):g}/{100 * p.data.valid_fraction:g} (seed {stats['seed']}) into "
                f"{count(splits['train']['reviews'])} training and {count(splits['valid']['reviews'])} validation reviews; the "
                f"{count(splits['test']['reviews'])} test reviews used once"
            ),
            "why": Markup(
                "the split of the PyTorch sentiment-analysis tutorials; that the original followed them is our inference "
                "from its printouts (a 25,002-row embedding with `padding_idx=1`, one output), since it names no source"
            ),
        },
        {
            "what": "Tokens and vocabulary",
            # Markup: the code spans become \texttt in LaTeX (every value in it is a number the stages wrote)
            "value": Markup(
                f"lower-cased words and punctuation; {_vocabulary(stats['vocab'])} plus `<unk>` and `<pad>`, "
                f"{count(stats['vocab']['size'])} in all; {100 * splits['test']['oov_rate']:.2f} % of test tokens are outside it"
            ),
            "why": "the original's printouts show an embedding of 25,002 rows; its tokenizer (torchtext's) no longer runs",
        },
        {
            "what": "Embedding start",
            "value": _embedding(d),
            "why": Markup(
                "those tutorials start from GloVe 6B 100d vectors (that the original did is our inference); they are not "
                "available offline here, and in-domain word2vec is the closest start that is (`embedding.init: glove` "
                "takes a GloVe file)"
            ),
        },
        {
            "what": "Optimisation",
            "value": f"{optimizer}, learning rate {number_text(train.lr)}, batch {train.batch_size}, "
            + ("no gradient clipping" if train.clip_norm is None else f"gradients clipped to L2 norm {number_text(train.clip_norm)}"),
            "why": "the later tutorials' settings (our inference again); Part 3 tests others as experiments",
        },
        {
            "what": "Weights tested",
            "value": "those of the epoch with the lowest validation loss" if train.checkpoint == "best" else "those of the last epoch",
            "why": "the tutorials' rule (the original does not say which epoch it tested)"
            if train.checkpoint == "best"
            else "an ablation of the tutorials' best-validation rule",
        },
        {
            "what": "Batches",
            "value": batches,
            "why": "20–50 times faster on a CPU than packed batches of mixed lengths; the cut ends of the longer training "
            "reviews are not seen, so this is close to packing, not the same computation"
            if train.batching == "bucketed"
            else "an ablation: the tutorials' first, unpacked batches",
        },
        _model_choice(d),
        {
            "what": "Seeds",
            "value": f"{len(train.all_seeds)} training run{plural} per model, seed{plural} {', '.join(map(str, train.all_seeds))}",
            "why": "one run per model is not a measurement: the spread between runs is the unit of comparison (Part 3)",
        },
    ]


def _table1(d: ReportData) -> tuple[Table, str]:
    rows = []
    for arch in d.archs:
        entry, metrics, original = d.summary[arch], d.metrics[arch], d.original.get(arch) or {}
        accuracy = percent(entry["test_acc_mean"]) + (f" ± {percent(entry['test_acc_std'])}" if entry["n"] > 1 else "")
        rows.append(
            [
                data(d.title(arch)),
                data(count(metrics["rnn_params"])),
                data(count(original["rnn_params"])) if original else "–",
                data(accuracy),
                data(f"{original['test_acc_percent']:.2f}") if original else "–",
            ]
        )
    n = max(d.summary[arch]["n"] for arch in d.archs)
    seeds = d.params.train.all_seeds
    if n > 1:
        per_seed = "; ".join(f"{d.title(a)} " + ", ".join(percent(v) for v in d.summary[a]["test_acc_by_seed"].values()) for a in d.archs)
        note = f"Test accuracy: mean ± sample standard deviation over the seeds {', '.join(map(str, seeds))}; per seed, in that order: {per_seed}."
    else:
        note = f"Test accuracy of one run (seed {seeds[0]}); the spread over seeds is not measured."
    note += (
        " *original*: the values published in the original report, one run per model: set them against the spread of our seeds, not only the mean."
    )
    header = ["", "Total # of parameters\nin RNN/LSTM layer(s)", "original", "Test accuracy %", "original"]
    return Table(header, rows, "lrrrr", "Results", note=note), per_seed if n > 1 else ""


def context(d: ReportData) -> dict[str, Any]:
    table1, _ = _table1(d)
    html_rows: list[list[Any]] = [
        ["architecture", "id", "RNN/LSTM parameters", "test accuracy % (mean)", "± std", "n", "seeds", "original test accuracy %"]
    ]
    for arch in d.archs:
        entry, original = d.summary[arch], d.original.get(arch) or {}
        html_rows.append(
            [
                d.title(arch),
                arch,
                count(d.metrics[arch]["rnn_params"]),
                percent(entry["test_acc_mean"]),
                percent(entry["test_acc_std"]) if entry["n"] > 1 else "",
                entry["n"],
                ", ".join(map(str, entry["seeds"])),
                f"{original['test_acc_percent']:.2f}" if original else "",
            ]
        )
    return {
        "n_archs": len(d.archs),
        "titles": join_and([d.title(a) for a in d.archs]),
        "epochs": d.params.train.epochs,
        "choices": _choices(d),
        "models": [{"number": i, "title": d.title(a), "structure": d.structures[a]} for i, a in enumerate(d.archs, start=1)],
        "tables": {"results": table1},
        "html_rows": html_rows,
    }
