"""`GenParams`: the one set of sampling parameters, for every caller of the engine.

    params = GenParams(max_new_tokens=64, temperature=0)     # greedy
    params = GenParams.from_config(cfg.generate)             # the `generate` section

The `generate` verb and chat build it from their config section, the server from a request's
fields (`serve/requests.py`), eval and synth in code; `generate_ids` (`generation/batched.py`)
turns it into transformers' keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from instructune.config import GenerateConfig

# Below this temperature sampling is the greedy choice in all but name, and dividing logits by
# a subnormal temperature overflows to inf (NaN probabilities, a crash in sampling): such a
# temperature, fixed or predicted per prompt, is decoded greedily instead.
MIN_SAMPLING_TEMPERATURE = 1e-5


@dataclass
class GenParams:
    """Sampling parameters for one request batch.

    Attributes:
        max_new_tokens: tokens to generate at most.
        temperature: 0 (or below `MIN_SAMPLING_TEMPERATURE`) for greedy; "auto": each prompt
            at the temperature its model's temperature head predicts (a local instructune run
            trained with `addons.temperature_head`, or `instructune serve` of one; other
            servers refuse it).
        top_p: nucleus mass.
        top_k: top-k sampling; 0 disables it (local models only; HTTP backends do not send it).
        repetition_penalty: >1 discourages repeats (local models only; HTTP backends do not send it).
        stop: strings that end a generation (removed from the returned text).
        seed: sampling seed (each prompt's own RNG is seeded from it and the prompt's position,
            `batched.row_seed`; on the add-on path torch's RNG once per `generate_ids` call;
            sent as `seed` to HTTP backends); None: the server's batch worker draws one per job.
    """

    max_new_tokens: int = 256
    temperature: float | Literal["auto"] = 0.7
    top_p: float = 0.95
    top_k: int = 0
    repetition_penalty: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = 0

    def __post_init__(self):
        # transformers refuses an int temperature (2 is "not a strictly positive float"); a
        # caller in code may well write one.
        if self.temperature != "auto":
            self.temperature = float(self.temperature)
        self.top_p = float(self.top_p)

    @classmethod
    def from_config(cls, g: GenerateConfig) -> GenParams:
        """The sampling parameters of the `generate` section (its `batch_size` is the engine's,
        not a sampling parameter)."""
        return cls(max_new_tokens=g.max_new_tokens, temperature=g.temperature, top_p=g.top_p, top_k=g.top_k,
                   repetition_penalty=g.repetition_penalty, seed=g.seed)

    @property
    def greedy(self) -> bool:
        """Whether a fixed temperature this low decodes greedily."""
        return self.temperature != "auto" and self.temperature < MIN_SAMPLING_TEMPERATURE
