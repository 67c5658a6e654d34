# Stage train: one job per (architecture, seed); `snakemake --cores 4` runs four at once.


rule train:
    input:
        data=PREPARED_FILES,
        embedding=EMBEDDING,
        code=get_code("train"),
    output:
        checkpoint=f"{CHECKPOINTS}/{{arch}}/seed{{seed}}.pt",
        metrics=f"{RUNS}/{{arch}}/seed{{seed}}/metrics.json",
        history=f"{RUNS}/{{arch}}/seed{{seed}}/history.csv",
        structure=f"{RUNS}/{{arch}}/seed{{seed}}/model.txt",
    log:
        "logs/train/{arch}-seed{seed}.log",
    benchmark:
        "logs/benchmarks/train/{arch}-seed{seed}.tsv"
    conda:
        "../envs/pipeline.yaml"
    # The LSTM does four gates' work per token, about four times an RNN's: it gets two threads
    # (1.7× one thread's speed on this 2-core machine), each RNN one. With `--cores 2` the
    # RNN jobs share the two cores, and the LSTM runs alone on both.
    threads: get_train_threads
    resources:
        mem_mb=3000,
    params:
        config_file=PARAMS_FILE,
        values=get_params("train"),
        data=lambda wildcards, input: get_folder(input.data[0]),
        resume=f"{RESUME}/{{arch}}-seed{{seed}}.pt",
    shell:
        "python workflow/scripts/train.py --params {params.config_file} --arch {wildcards.arch} --seed {wildcards.seed} "
        "--data {params.data} --embedding {input.embedding} --checkpoint {output.checkpoint} "
        "--resume {params.resume} --metrics {output.metrics} --history {output.history} "
        "--structure {output.structure} --threads {threads} 2>&1 | tee {log}"
