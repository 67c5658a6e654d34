# Stage diagnose: where each trained model's gradient reaches, position by position (the
# primary seed's checkpoint; validation reviews only). Seconds per architecture.


rule diagnose:
    input:
        get_inputs("diagnose"),
    output:
        get_outputs("diagnose"),
    log:
        "logs/diagnose/{arch}.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        values=get_params("diagnose"),
    shell:
        get_shell("diagnose", "> {log:q} 2>&1")
