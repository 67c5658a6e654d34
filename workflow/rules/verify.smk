# Target verify (not part of `all`): does this machine reproduce the published run?
#   snakemake --cores 2 verify      (or: make verify)
# It has no outputs, so Snakemake runs it whenever it is asked for and never deletes anything.
# The published run is dvc.lock and results/runs as committed at HEAD (tools/verify.py reads
# them with git), not the workspace's copies: neither is an input here.


rule verify:
    input:
        archive=ARCHIVE,
    log:
        "logs/verify/verify.log",
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    shell:
        "python tools/verify.py --archive {input.archive:q} 2>&1 | tee {log:q}"
