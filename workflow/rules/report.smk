# Stages summarize, report and pdf: from every run's results to report/.


rule summarize:
    input:
        metrics=get_run_outputs("metrics.json"),
        history=get_run_outputs("history.csv"),
        structure=get_run_outputs("model.txt"),
        code=get_code("summarize"),
    output:
        summary=SUMMARY,
        accuracy=ACCURACY,
        files=get_summary_files(),
    log:
        "logs/summarize/summarize.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        config_file=PARAMS_FILE,
        values=get_params("summarize"),
        runs=lambda wildcards, input: get_folder(input.metrics[0], up=3),
        out=lambda wildcards, output: get_folder(output.summary),
    shell:
        "python workflow/scripts/summarize.py --params {params.config_file:q} --runs {params.runs:q} --out {params.out:q} > {log:q} 2>&1"


rule report:
    input:
        summary=SUMMARY,
        files=get_summary_files(),
        data_stats=DATA_STATS,
        embedding_stats=EMBEDDING_STATS,
        verification=VERIFICATION,
        diagnostics=get_diagnostics(),
        runs=get_run_outputs("metrics.json")
        + get_run_outputs("history.csv")
        + get_run_outputs("predictions.csv.gz"),
        experiments=get_experiment_summaries(),
        code=get_code("report"),
    # update(): the previous report stays in place while this job runs and comes back if it fails.
    # The figures and tables are marked for `snakemake --report` (get_report_outputs).
    output:
        get_report_outputs(),
    log:
        "logs/report/report.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        config_file=PARAMS_FILE,
        values=get_params("report"),
        results=lambda wildcards, input: get_folder(input.summary),
        out=lambda wildcards, output: get_folder(output[0]),
        diagnostics=lambda wildcards, input: get_folder(input.diagnostics[0]),
        runs=lambda wildcards, input: get_folder(input.runs[0], up=3),
        experiments=lambda wildcards, input: EXPERIMENTS,
    shell:
        "python workflow/scripts/report.py --params {params.config_file:q} --summary {input.summary:q} "
        "--metrics {params.results:q}/metrics --history {params.results:q}/history --models {params.results:q}/models "
        "--data-stats {input.data_stats:q} --embedding-stats {input.embedding_stats:q} "
        "--triplet {input.verification:q} --diagnostics {params.diagnostics:q} --runs {params.runs:q} "
        "--experiments {params.experiments:q} "
        "--out {params.out:q} > {log:q} 2>&1"


rule pdf:
    input:
        tex="report/report.tex",
        markdown="report/report.md",
        figures=[path for path in REPORT if path.startswith("report/figures/")],
        code=get_code("pdf"),
    output:
        update(PDF),
    log:
        "logs/pdf/pdf.log",
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python workflow/scripts/pdf.py --tex {input.tex:q} --markdown {input.markdown:q} --out {output:q} > {log:q} 2>&1"
