"""The `data` section: training and held-out data, how files are read, instruction masking."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from instructune.config.augment import DataAugmentConfig
from instructune.config.errors import UNIT, at_least, check_ranges, require
from instructune.config.source import SourceConfig, check_weights

# What a ShareGPT dataset's own role tag may stand for (LLaMA-Factory's names).
TAG_ROLES = ("user", "assistant", "system", "function_call", "observation")


@dataclass
class ReaderConfig:
    """How input files are read (`data.reader.*`; the same options are flags of `instructune ingest`).

    Attributes:
        oasst_paths: OpenAssistant trees → conversations: "best" keeps one per tree (the
            lowest-ranked reply at every branch), "all" keeps every root→leaf path that ends
            with an assistant reply.
        languages: keep only OpenAssistant messages whose `lang` is in this list (e.g. [en, de]);
            [] keeps every language.
        keep_deleted: keep OpenAssistant messages marked `deleted` (and their replies).
        keep_unreviewed: keep OpenAssistant messages whose `review_result` is false.
        max_chars: a record whose text (all turns, context and rationale included) is longer
            than this many characters is a bad row; 0 for no limit.
        role_tags: a ShareGPT dataset's own speaker tags → what they stand for (user,
            assistant, system, function_call, observation), e.g. {patient: user, doctor:
            assistant}; added to the built-in tags (human, gpt, ...).
    """

    oasst_paths: Literal["best", "all"] = "best"
    languages: list[str] = field(default_factory=list)
    keep_deleted: bool = False
    keep_unreviewed: bool = False
    max_chars: int = 100_000
    role_tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_ranges(self, {"max_chars": at_least(0)})
        for tag, role in self.role_tags.items():
            require(role in TAG_ROLES, f"role_tags.{tag}", f"got {role!r}; allowed: {', '.join(TAG_ROLES)}")


@dataclass
class InstructionMaskingConfig:
    """Instruction masking while training (augmentation, `data/masking.py`).

    Attributes:
        fraction: share of instruction tokens (segment 1 only) changed per record and epoch,
            in [0, 1]; 0 turns it off.
        mode: "mask" (replace by `token`), "drop" (remove with label and segment) or "mix"
            (each chosen token one or the other, with probability 1/2).
        token: the mask token (one token of the vocabulary); null uses the tokenizer's unk token.
    """

    fraction: float = 0.0
    mode: Literal["mask", "drop", "mix"] = "mask"
    token: str | None = None

    def __post_init__(self) -> None:
        check_ranges(self, {"fraction": UNIT})


@dataclass
class DataConfig:
    """Training and held-out data.

    Attributes:
        train: input files (any supported format) or "starter:train" for the shipped set;
            an entry may instead be a mapping {path, format, columns, weight, max_records}
            (see `SourceConfig`: column mapping, a cap, a share of a weighted mixture).
        heldout: held-out files, or "starter:heldout" (entries as in `train`).
        heldout_tasks: task categories kept out of training altogether (their records are
            dropped from `train`, and counted), to measure generalization to unseen tasks:
            `instructune eval` then also reports the held-out records of these tasks
            ("heldout_unseen") apart from the others ("heldout_seen"). A name no training
            record carries is an error (a typo would hold out nothing).
        mix_seed: seeds the draws of a mixture (entries with max_records or weight): the same
            seed gives the same records in every process and run.
        format: force an input format (see `instructune ingest --help`); None detects it.
        max_length: cap on tokens per record; longer ones are cut (context first) or dropped.
        prepared: a directory written by `instructune prepare`; when set, train reads its
            tokenized splits instead of tokenizing `train` / `heldout`.
        cache: reuse tokenized splits from `$INSTRUCTUNE_CACHE/prepared/` when the input
            bytes, template, tokenizer and these settings are unchanged (prepare and train);
            false always tokenizes anew and writes no cache entry.
        reader: how input files are read (OpenAssistant paths, languages, size limit); see
            `ReaderConfig`.
        packing: pack several records into each row of at most `pack_length` tokens; each
            record attends only to itself and its positions restart (`data/pack.py`).
            `train.batch_size` then counts packed rows. Needs an attention path that reads
            record boundaries from position_ids (checked at start: sdpa, eager, flash).
        pack_length: tokens per packed row; 0 means max(max_length, the longest record).
        padding_free: collate each micro-batch as one row of its records end to end, with no
            padding (same attention path as packing; composes with it). "auto": on when the
            attention backend keeps records apart without a (T, T) mask (`varlen`, flash,
            i.e. training on a GPU) and packing is off; off otherwise (sdpa/eager on CPU).
        instruction_masking: instruction-token masking while training; see
            `InstructionMaskingConfig`.
        augment: records added to the training data before it is tokenized (verifiable
            constraints); see `DataAugmentConfig`.
    """

    train: list[str | SourceConfig] = field(default_factory=lambda: ["starter:train"])
    heldout: list[str | SourceConfig] = field(default_factory=lambda: ["starter:heldout"])
    heldout_tasks: list[str] = field(default_factory=list)
    mix_seed: int = 0
    format: str | None = None
    max_length: int = 512
    prepared: str | None = None
    cache: bool = True
    reader: ReaderConfig = field(default_factory=ReaderConfig)
    packing: bool = False
    pack_length: int = 0
    padding_free: bool | Literal["auto"] = "auto"
    instruction_masking: InstructionMaskingConfig = field(default_factory=InstructionMaskingConfig)
    augment: DataAugmentConfig = field(default_factory=DataAugmentConfig)

    def __post_init__(self) -> None:
        check_ranges(self, {"max_length": at_least(1), "pack_length": at_least(0)})
        check_weights(self.train, "train")
        check_weights(self.heldout, "heldout")
