# Stage preflight: what can be checked before any training job starts (imdb_rnn/preflight.py).
# Train jobs take its output as ancient(): its timestamp never makes them rerun.


rule preflight:
    input:
        code=get_code("preflight"),
    output:
        PREFLIGHT,
    log:
        "logs/preflight/preflight.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        config_file=PARAMS_FILE,
        values=get_params("preflight"),
    shell:
        "python workflow/scripts/preflight.py --params {params.config_file:q} --out {output:q} > {log:q} 2>&1"
