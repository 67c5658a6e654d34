# Stage diagnose: where each trained model's gradient reaches, position by position (the
# primary seed's checkpoint; validation reviews only). Seconds per architecture.


rule diagnose:
    input:
        checkpoint=f"{CHECKPOINTS}/{{arch}}/seed{PRIMARY_SEED}.pt",
        data=f"{PREPARED}/valid.npz",
        code=get_code("diagnose"),
    output:
        f"{DIAGNOSTICS}/{{arch}}.json",
    log:
        "logs/diagnose/{arch}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        config_file=PARAMS_FILE,
        values=get_params("diagnose"),
    shell:
        "python workflow/scripts/diagnose.py --params {params.config_file:q} --checkpoint {input.checkpoint:q} --data {input.data:q} "
        "--out {output:q} > {log:q} 2>&1"
