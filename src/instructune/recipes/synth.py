"""`instructune synth self-instruct` and `instructune synth evol`: grow a dataset with an LLM.

    instructune synth self-instruct --output runs/si self_instruct.rounds=3
    instructune synth evol --input records.jsonl --output runs/evol evol.generations=2

The generator comes from the `synth` section (the local default model, or any OpenAI-compatible
endpoint); the method's settings from `self_instruct` / `evol`. Running the same command again
on the same output dir resumes where it stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from instructune.config import Config, ConfigError, save_config
from instructune.data.inputs import load_inputs
from instructune.data.jsonio import write_json, write_jsonl
from instructune.synth import evol_instruct, self_instruct

METHODS = ("self-instruct", "evol")


def build_generator(cfg: Config):
    """The generator the `synth` section names (imported late: it loads a model)."""
    from instructune.synth.backends import build_generator as build

    return build(cfg)


def main(cfg: Config, method: str, output: str | Path, gen=None, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) `method` into `output`; returns the run report.

    Args:
        cfg: the whole config (sections `synth` and `self_instruct` or `evol`).
        method: "self-instruct" or "evol".
        output: the output dir; the resolved config is saved there as config.yaml.
        gen: a generator to use instead of building one from `cfg.synth` (tests).
        progress: show a progress bar.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown synth method {method!r}; allowed: {', '.join(METHODS)}")
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    gen = gen or build_generator(cfg)
    if method == "self-instruct":
        seeds = self_instruct.load_seed_tasks(cfg.self_instruct.seeds, cfg.self_instruct.seed_format)
        report = self_instruct.run(gen, seeds, cfg.self_instruct, out, progress)
    else:
        inputs = load_inputs(cfg.evol.input, cfg.evol.input_format)
        report = evol_instruct.run(gen, inputs, cfg.evol, out, progress=progress)
    if cfg.refine.rounds:
        report["refine"] = refine_output(cfg, out, gen)
        write_json(out / "report.json", report)
    return report


def refine_output(cfg: Config, out: Path, gen) -> dict[str, Any]:
    """Self-Refine the run's records (`refine.*`) into OUT/refined.jsonl, scored by the quality
    scorers (`quality.*`); records.jsonl, the resumable log, stays as generated."""
    from instructune.recipes import quality
    from instructune.synth.refine import refine_records

    records = load_inputs([str(out / "records.jsonl")], "records")
    data = quality.scoring_set(cfg, records)
    r = cfg.refine
    refined, stats = refine_records(records, gen, r.rounds, quality.score_function(cfg.quality, data),
                                    max_new_tokens=r.max_new_tokens, temperature=r.temperature,
                                    min_gain=r.min_gain, seed=r.seed)
    write_jsonl(out / "refined.jsonl", (x.to_dict() for x in refined))
    return stats.to_dict()


def print_report(report: dict[str, Any], output: str | Path, console) -> None:
    """Counts at the end of a run: records, rejections per reason, requests, throughput."""
    done = (f"{report['rounds_done']} rounds" if "rounds_done" in report
            else f"{report['generations_done']} generations")
    console.print(f"{report['method']}: {report['records']} records, {report['rejected']} rejected, "
                  f"{report['requests']} requests, {done} done")
    for reason, n in report["reasons"].items():
        console.print(f"  rejected {reason}: {n}")
    s = report["this_session"]
    console.print(f"  this session: {s['records']} records in {s['seconds']:.0f} s "
                  f"({s['records_per_minute']:.2f} records/min)")
    for key in ("before", "after"):
        if "clusters" in report:
            counts = " ".join(str(d["count"]) for d in report["clusters"][key])
            console.print(f"  clusters {key}: {counts}")
    console.print(f"wrote {Path(output) / 'records.jsonl'} (report: {Path(output) / 'report.json'})")
