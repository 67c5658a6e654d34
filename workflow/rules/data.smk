# Stages download, prepare and embed: from the archive to encoded splits and word vectors.


rule download:
    input:
        get_inputs("download"),
    output:
        get_outputs("download"),
    log:
        "logs/download/download.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        values=get_params("download"),
    shell:
        get_shell("download", "> {log:q} 2>&1")


rule prepare:
    input:
        get_inputs("prepare"),
    output:
        get_outputs("prepare"),
    log:
        "logs/prepare/prepare.log",
    conda:
        "../envs/pipeline.yaml"
    threads: 2
    params:
        values=get_params("prepare"),
    shell:
        get_shell("prepare", "> {log:q} 2>&1")


rule embed:
    input:
        get_inputs("embed"),
    output:
        get_outputs("embed"),
    log:
        "logs/embed/embed.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        values=get_params("embed"),
    shell:
        get_shell("embed", "> {log:q} 2>&1")
