# Stage gradcheck: Part 2's triplet-loss gradients, derived and verified.


rule gradcheck:
    input:
        problem=TRIPLET_PROBLEM,
        code=get_code("gradcheck"),
    output:
        VERIFICATION,
    log:
        "logs/gradcheck/gradcheck.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        config_file=PARAMS_FILE,
        values=get_params("gradcheck"),
    shell:
        "python workflow/scripts/gradcheck.py --params {params.config_file:q} --problem {input.problem:q} --out {output:q} > {log:q} 2>&1"
