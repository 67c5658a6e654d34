"""Benchmark: which numeric knobs decide the bits, and what the portable pin costs in speed.

    python benchmarks/numerics_knobs.py                   # every knob, 12 steps per model
    python benchmarks/numerics_knobs.py --steps 30 --archs bilstm2 rnn1

Runs the same training steps of every architecture (seeded weights, seeded synthetic batches
of 64 reviews × 200 tokens, Adam, dropout on), and word2vec on a seeded synthetic corpus, in
a fresh process per setting: nothing pinned (native), each knob of the avx2 pin alone, the
whole pin, and the pin at two threads. For each it prints a fingerprint of the weights (or
vectors) and the training speed. Equal fingerprints mean that knob does not change the
result on this CPU; the speed columns are what the pin costs. A benchmark, not a test: it
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from imdb_rnn.numerics import KNOBS, PINS

DEFAULT_ARCHS = ("bilstm2", "birnn2", "birnn1", "rnn1")


def _settings() -> list[tuple[str, dict[str, str], int]]:
    pinned = PINS["avx2"]
    rows = [("native", {}, 1)]
    rows += [(f"{name}={value}", {name: value}, 1) for name, value in pinned.items()]
    rows += [("avx2 (all four)", dict(pinned), 1), ("avx2, 2 threads", dict(pinned), 2), ("native, 2 threads", {}, 2)]
    return rows


def _child(args: argparse.Namespace) -> None:
    """Measure in this process (its environment is the setting under test)."""
    import numpy as np
    import torch

    from imdb_rnn.config import load_params
    from imdb_rnn.fingerprint import state_fingerprint
    from imdb_rnn.numerics import kernels_in_use
    from imdb_rnn.train.models import build_model

    torch.set_flush_denormal(True)
    torch.set_num_threads(args.threads)
    params = load_params(args.params)
    result: dict[str, object] = {"kernels": kernels_in_use()}
    vocab, batch, length = 25002, 64, 200
    for arch in args.archs:
        torch.manual_seed(1234)
        model = build_model(params.models[arch], vocab)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        criterion = torch.nn.BCEWithLogitsLoss()
        data = torch.Generator().manual_seed(0)
        batches = [
            (torch.randint(2, vocab, (length, batch), generator=data), torch.randint(0, 2, (batch,), generator=data).float())
            for _ in range(args.steps)
        ]
        model.train()
        start = time.perf_counter()
        for text, labels in batches:
            optimizer.zero_grad()
            criterion(model(text), labels).backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        result[arch] = {"fingerprint": state_fingerprint(model.state_dict()), "tok_s": args.steps * batch * length / seconds}
    from gensim.models import Word2Vec

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(2000)]
    ranks = np.minimum(rng.zipf(1.3, size=200_000), len(words)) - 1
    sentences = [[words[r] for r in ranks[i : i + 100]] for i in range(0, len(ranks), 100)]
    start = time.perf_counter()
    w2v = Word2Vec(sentences, vector_size=100, window=5, min_count=1, workers=1, seed=1, epochs=2)
    vectors = np.ascontiguousarray(w2v.wv.vectors, dtype=np.float32)
    import hashlib

    result["word2vec"] = {"fingerprint": hashlib.sha256(vectors.tobytes()).hexdigest()[:16], "seconds": time.perf_counter() - start}
    print(json.dumps(result))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--steps", type=int, default=12, help="training steps per architecture (default 12)")
    parser.add_argument("--archs", nargs="+", default=list(DEFAULT_ARCHS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return
    # OpenBLAS's variables stay as the machine sets them (older builds misbehave on some
    # processors without them); the other knobs are replaced per setting, in the child only.
    kept = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    base_env = {key: value for key, value in os.environ.items() if key not in KNOBS or key in kept}
    preset = {key: os.environ[key] for key in KNOBS if key in os.environ}
    if preset:
        print(f"note: the environment sets {preset}; OpenBLAS's are kept in every row, the others replaced per row")
    rows = []
    for name, env, threads in _settings():
        command = [
            sys.executable,
            __file__,
            "--child",
            "--params",
            args.params,
            "--steps",
            str(args.steps),
            "--threads",
            str(threads),
            "--archs",
            *args.archs,
        ]
        env = {key: value for key, value in env.items() if key not in kept or key not in os.environ}
        done = subprocess.run(command, env={**base_env, **env}, capture_output=True, text=True, check=True)
        rows.append((name, json.loads(done.stdout.strip().splitlines()[-1])))
        print(f"measured: {name}", file=sys.stderr, flush=True)
    reference = rows[0][1]
    header = ["setting", "kernels"] + [f"{arch} (tok/s)" for arch in args.archs] + ["word2vec (s)"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, result in rows:
        blas = ",".join(sorted({entry["core"] for entry in result["kernels"]["blas"] or []}))
        cells = [name, f"ATen {result['kernels']['torch_cpu_capability']}, BLAS {blas}"]
        for arch in args.archs:
            same = "=" if result[arch]["fingerprint"] == reference[arch]["fingerprint"] else "≠"
            cells.append(f"{same} {result[arch]['fingerprint'][:8]} ({result[arch]['tok_s']:,.0f})")
        same = "=" if result["word2vec"]["fingerprint"] == reference["word2vec"]["fingerprint"] else "≠"
        cells.append(f"{same} {result['word2vec']['fingerprint'][:8]} ({result['word2vec']['seconds']:.1f})")
        print("| " + " | ".join(cells) + " |")
    print("\n= / ≠: the same / another fingerprint as the first row (native); tok/s: training tokens per second")


if __name__ == "__main__":
    main()
