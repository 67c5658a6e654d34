# Stages download, prepare and embed: from the archive to encoded splits and word vectors.


rule download:
    input:
        code=get_code("download"),
    output:
        ARCHIVE,
    log:
        "logs/download/download.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        config_file=PARAMS_FILE,
        values=get_params("download"),
    shell:
        "python workflow/scripts/download.py --params {params.config_file:q} --out {output:q} > {log:q} 2>&1"


rule prepare:
    input:
        archive=ARCHIVE,
        code=get_code("prepare"),
    output:
        files=PREPARED_FILES,
        stats=DATA_STATS,
    log:
        "logs/prepare/prepare.log",
    conda:
        "../envs/pipeline.yaml"
    threads: 2
    params:
        config_file=PARAMS_FILE,
        values=get_params("prepare"),
        out=lambda wildcards, output: get_folder(output.files[0]),
    shell:
        "python workflow/scripts/prepare.py --params {params.config_file:q} --archive {input.archive:q} "
        "--out {params.out:q} --stats {output.stats:q} > {log:q} 2>&1"


rule embed:
    input:
        data=PREPARED_FILES,
        code=get_code("embed"),
    output:
        matrix=EMBEDDING,
        stats=EMBEDDING_STATS,
    log:
        "logs/embed/embed.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        config_file=PARAMS_FILE,
        values=get_params("embed"),
        data=lambda wildcards, input: get_folder(input.data[0]),
    shell:
        "python workflow/scripts/embed.py --params {params.config_file:q} --data {params.data:q} "
        "--out {output.matrix:q} --stats {output.stats:q} > {log:q} 2>&1"
