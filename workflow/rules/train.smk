# Stage train: one job per (architecture, seed); `snakemake --cores 4` runs four at once.


rule train:
    input:
        data=PREPARED_FILES,
        embedding=EMBEDDING,
        code=get_code("train"),
    # update(): Snakemake keeps the previous run's files while the job runs and puts them
    # back if it fails (the job writes each output atomically, all of them at its end).
    output:
        checkpoint=update(f"{CHECKPOINTS}/{{arch}}/seed{{seed}}.pt"),
        metrics=update(f"{RUNS}/{{arch}}/seed{{seed}}/metrics.json"),
        history=update(f"{RUNS}/{{arch}}/seed{{seed}}/history.csv"),
        structure=update(f"{RUNS}/{{arch}}/seed{{seed}}/model.txt"),
        predictions=update(f"{RUNS}/{{arch}}/seed{{seed}}/predictions.csv.gz"),
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
        config_file=PARAMS_FILE,
        values=get_params("train"),
        data=lambda wildcards, input: get_folder(input.data[0]),
        resume=f"{RESUME}/{{arch}}-seed{{seed}}.pt",
        max_threads=get_max_threads,
    shell:
        "python workflow/scripts/train.py --params {params.config_file:q} --arch {wildcards.arch:q} --seed {wildcards.seed:q} "
        "--data {params.data:q} --embedding {input.embedding:q} --checkpoint {output.checkpoint:q} "
        "--resume {params.resume:q} --metrics {output.metrics:q} --history {output.history:q} "
        "--structure {output.structure:q} --predictions {output.predictions:q} --threads {threads:q} --max-threads {params.max_threads:q} 2>&1 | tee {log:q}"
