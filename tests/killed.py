"""A training run killed partway: what the resume tests start from."""

from __future__ import annotations

import pytest


def train_killed_at(monkeypatch, cfg, step: int) -> None:
    """Run `instructune.recipes.train.main(cfg)` and kill it (KeyboardInterrupt) while it logs
    `step`: the checkpoints before it are on disk, the step's metrics line is not."""
    from instructune.recipes import train
    from instructune.train.metrics_log import MetricsLog

    original = MetricsLog.write

    def crash(self, row):
        if row["step"] == step:
            raise KeyboardInterrupt("killed")
        original(self, row)

    monkeypatch.setattr(MetricsLog, "write", crash)
    with pytest.raises(KeyboardInterrupt):
        train.main(cfg)
    monkeypatch.setattr(MetricsLog, "write", original)
