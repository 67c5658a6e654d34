# Stages download, prepare and embed: from the archive to encoded splits and word vectors.


rule download:
    input:
        code=get_code("download"),
    output:
        ARCHIVE,
    params:
        values=get_params("download"),
    log:
        "logs/download/download.log",
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python workflow/scripts/download.py --params {PARAMS_FILE} --out {output} > {log} 2>&1"


rule prepare:
    input:
        archive=ARCHIVE,
        code=get_code("prepare"),
    output:
        files=PREPARED_FILES,
        stats=DATA_STATS,
    params:
        values=get_params("prepare"),
        out=PREPARED,
    threads: 2
    log:
        "logs/prepare/prepare.log",
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python workflow/scripts/prepare.py --params {PARAMS_FILE} --archive {input.archive} "
        "--out {params.out} --stats {output.stats} > {log} 2>&1"


rule embed:
    input:
        data=PREPARED_FILES,
        code=get_code("embed"),
    output:
        matrix=EMBEDDING,
        stats=EMBEDDING_STATS,
    params:
        values=get_params("embed"),
        data=PREPARED,
    log:
        "logs/embed/embed.log",
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python workflow/scripts/embed.py --params {PARAMS_FILE} --data {params.data} "
        "--out {output.matrix} --stats {output.stats} > {log} 2>&1"
