# Stage gradcheck: Part 2's triplet-loss gradients, derived and verified.


rule gradcheck:
    input:
        get_inputs("gradcheck"),
    output:
        get_outputs("gradcheck"),
    log:
        "logs/gradcheck/gradcheck.log",
    conda:
        "../envs/pipeline.yaml"
    params:
        values=get_params("gradcheck"),
    shell:
        get_shell("gradcheck", "> {log:q} 2>&1")
