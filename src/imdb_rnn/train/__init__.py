"""One architecture, one seed: the models, their training and what is measured on a checkpoint.

Stages ``train`` (``training``) and ``diagnose`` (``diagnostics``). Read in this order:

- ``models``: the four classifiers of the report, built from one generic class;
- ``batching``: length-bucketed batches (why training is fast on a CPU), and the tutorial-style
  padded ones an ablation uses;
- ``files``: what a run reads (prepared splits, embedding) and the files it writes;
- ``training``: the epochs, the best-validation checkpoint, the test, the outputs;
- ``resume``: the state written after each epoch, so an interrupted run continues;
- ``threads``: a job that grows onto an idle core where its results allow it;
- ``diagnostics``: how much each position of a review moves the loss (stage ``diagnose``).
"""
