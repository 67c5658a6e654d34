"""What checks a machine before and after a run.

- ``preflight``: what can be refused before any job that owns results starts (stage ``preflight``);
- ``published``: the published run's own record, dvc.lock and results/runs as committed;
- ``verify``: does this machine reproduce the published run? (``make verify``).
"""
