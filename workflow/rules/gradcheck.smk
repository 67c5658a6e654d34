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
    shell:
        "python workflow/scripts/gradcheck.py --problem {input.problem} --out {output} > {log} 2>&1"
