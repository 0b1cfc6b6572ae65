"""A training run killed partway: what the resume tests start from."""

from __future__ import annotations

import pytest


def train_killed_at(monkeypatch, cfg, step: int) -> None:
    """Run `instructune.recipes.train.main(cfg)` and kill it (KeyboardInterrupt) while it logs
    `step`: the checkpoints before it are on disk, the step's metrics line is not."""
    from instructune.recipes import train

    original = train.MetricsLog.write

    def crash(self, row):
        if row["step"] == step:
            raise KeyboardInterrupt("killed")
        original(self, row)

    monkeypatch.setattr(train.MetricsLog, "write", crash)
    with pytest.raises(KeyboardInterrupt):
        train.main(cfg)
    monkeypatch.setattr(train.MetricsLog, "write", original)
