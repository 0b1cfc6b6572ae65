"""Typed configs, YAML recipes and dotted `key.sub=value` overrides (docs/architecture.md §5).

One dataclass per concern, one file per section; `Config` (run.py) gathers them. A recipe is a
YAML file of overrides of the defaults; the command line adds `section.key=value` overrides on
top:

    cfg = load_config("quickstart", ["train.lr=1e-4", "template.name=alpaca"])

Unknown keys, bad types and values outside a field's range raise `ConfigError` naming the key
and what is allowed. Each field is documented in its class docstring and range-checked in the
class that declares it. Library code never takes a `Config`: recipes turn sections into
keyword arguments.
"""

from instructune.config.ablation import AblationConfig
from instructune.config.augment import ConstraintAugmentConfig, DataAugmentConfig
from instructune.config.addons import AddonsConfig
from instructune.config.data import DataConfig, InstructionMaskingConfig, ReaderConfig
from instructune.config.errors import ConfigError, FieldError
from instructune.config.eval import EvalConfig
from instructune.config.generate import GenerateConfig
from instructune.config.loader import (RECIPES_DIR, apply_override, from_dict, list_recipes, load_config,
                                       recipe_path, save_config, to_dict)
from instructune.config.lora import LoraConfig
from instructune.config.model import ModelConfig
from instructune.config.objectives import EWCConfig, L2SPConfig, ObjectivesConfig
from instructune.config.pipeline import PipelineConfig
from instructune.config.quality import (BalanceConfig, FlagBelowConfig, QualityConfig, RejectAboveConfig,
                                        RejectBelowConfig)
from instructune.config.refine import RefineConfig
from instructune.config.run import Config
from instructune.config.serve import ServeConfig
from instructune.config.source import SourceConfig, entry_label, entry_path
from instructune.config.synth import EvolConfig, SelfInstructConfig, SynthConfig
from instructune.config.template import TemplateConfig
from instructune.config.train import TrainConfig

__all__ = ["RECIPES_DIR", "AblationConfig", "AddonsConfig", "BalanceConfig", "Config", "ConfigError",
           "ConstraintAugmentConfig", "DataAugmentConfig", "DataConfig", "EvalConfig", "EvolConfig", "EWCConfig",
           "FieldError", "FlagBelowConfig", "GenerateConfig", "InstructionMaskingConfig", "L2SPConfig", "LoraConfig",
           "ModelConfig", "ObjectivesConfig", "PipelineConfig", "QualityConfig", "ReaderConfig", "RefineConfig", "RejectAboveConfig", "RejectBelowConfig", "SelfInstructConfig",
           "ServeConfig", "SourceConfig", "SynthConfig", "TemplateConfig", "TrainConfig", "apply_override", "from_dict",
           "entry_label", "entry_path", "list_recipes", "load_config", "recipe_path", "save_config", "to_dict"]
