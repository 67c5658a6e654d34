# Stages summarize, report and pdf: from every run's results to report/.


rule summarize:
    input:
        get_inputs("summarize"),
    output:
        get_outputs("summarize"),
    log:
        "logs/summarize/summarize.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        values=get_params("summarize"),
    shell:
        get_shell("summarize", "> {log:q} 2>&1")


# Its outputs are kept through a failed rerun (update()), and the figures and tables are
# marked for `snakemake --report` (get_outputs).
rule report:
    input:
        get_inputs("report"),
    output:
        get_outputs("report"),
    log:
        "logs/report/report.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        values=get_params("report"),
    shell:
        get_shell("report", "> {log:q} 2>&1")


rule pdf:
    input:
        get_inputs("pdf"),
    output:
        get_outputs("pdf"),
    log:
        "logs/pdf/pdf.log",
    conda:
        "../envs/pipeline.yaml"
    shell:
        get_shell("pdf", "> {log:q} 2>&1")
