"""A training run assembled from its config and trained, without the `train` verb: what the
tests that need a trained model, or test training itself, start from."""

from __future__ import annotations

import functools


def trained(cfg, export: bool = True):
    """(TrainingRun, LoopResult) of `cfg` trained to its last step in `cfg.output_dir`, with the
    verb's EWC / L2-SP and held-out evaluation; `export`: also write adapter/, export/, addons/."""
    from instructune.recipes.builders import regularizers
    from instructune.recipes.train import heldout_evaluation
    from instructune.train.assemble import assemble

    run = assemble(cfg, penalties=functools.partial(regularizers, cfg))
    result = run.fit(evaluate=heldout_evaluation(cfg, run))
    if export:
        run.export()
    return run, result
