# Stage train: one job per (architecture, seed); `snakemake --cores 4` runs four at once.
# Its outputs are kept through a failed rerun (update(): the job writes each output
# atomically, all of them at its end).


rule train:
    input:
        get_inputs("train"),
    output:
        get_outputs("train"),
    log:
        "logs/train/{arch}-seed{seed}.log",
    benchmark:
        "logs/benchmarks/train/{arch}-seed{seed}.tsv"
    conda:
        "../envs/pipeline.yaml"
    # One thread each, so that all four start at once with `--cores 2`. The LSTM (four times an
    # RNN's work per token) then grows onto any core Snakemake was given that sits idle once
    # the RNN jobs finish (imdb_rnn/train/threads.py: only cells whose results do not depend on the
    # thread count grow; the RNNs keep one).
    threads: 1
    resources:
        mem_mb=3000,
    params:
        values=get_params("train"),
        max_threads=get_max_threads,
    shell:
        get_shell("train", "2>&1 | tee {log:q}")
