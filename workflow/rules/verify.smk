# Target verify (not part of `all`): does this machine reproduce the published run?
#   snakemake --cores 2 verify      (or: make verify)
# It has no outputs, so Snakemake runs it whenever it is asked for and never deletes anything.


rule verify:
    input:
        archive=ARCHIVE,
        lock="dvc.lock",
    log:
        "logs/verify/verify.log",
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    params:
        runs=RUNS,
    shell:
        "python tools/verify.py --lock {input.lock:q} --archive {input.archive:q} --runs {params.runs:q} 2>&1 | tee {log:q}"
