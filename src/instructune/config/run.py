"""`Config`: a whole run, one field per section."""

from __future__ import annotations

from dataclasses import dataclass, field

from instructune.config.ablation import AblationConfig
from instructune.config.addons import AddonsConfig
from instructune.config.data import DataConfig
from instructune.config.errors import at_least, check_ranges
from instructune.config.eval import EvalConfig
from instructune.config.generate import GenerateConfig
from instructune.config.lora import LoraConfig
from instructune.config.model import ModelConfig
from instructune.config.objectives import ObjectivesConfig
from instructune.config.pipeline import PipelineConfig
from instructune.config.quality import QualityConfig
from instructune.config.refine import RefineConfig
from instructune.config.serve import ServeConfig
from instructune.config.synth import EvolConfig, SelfInstructConfig, SynthConfig
from instructune.config.template import TemplateConfig
from instructune.config.train import TrainConfig


@dataclass
class Config:
    """A whole run.

    Attributes:
        output_dir: the run dir (config.yaml, metrics.jsonl, checkpoints/, adapter/, export/,
            eval.json). "" (the default): `train` makes a fresh runs/train-YYYYmmdd-HHMMSS,
            `quickstart` uses runs/quickstart, and `eval` needs --tuned. A dir that already
            holds a run is refused by `train` unless --resume or --overwrite says what to do.
        threads: CPU threads torch uses (`--threads N` on the verbs that load a model); 0 picks:
            the usable cores shared among the processes of a torchrun / accelerate launch,
            else OMP_NUM_THREADS if set, else every usable core.
    """

    output_dir: str = ""
    threads: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    template: TemplateConfig = field(default_factory=TemplateConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    self_instruct: SelfInstructConfig = field(default_factory=SelfInstructConfig)
    evol: EvolConfig = field(default_factory=EvolConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    ablation: AblationConfig = field(default_factory=AblationConfig)
    addons: AddonsConfig = field(default_factory=AddonsConfig)
    objectives: ObjectivesConfig = field(default_factory=ObjectivesConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)

    def __post_init__(self) -> None:
        check_ranges(self, {"threads": at_least(0)})
