"""`instructune synth self-instruct` and `instructune synth evol`: grow a dataset with an LLM.

    instructune synth self-instruct --output runs/si self_instruct.rounds=3
    instructune synth evol --input records.jsonl --output runs/evol evol.generations=2

The generator comes from the `synth` section (the local default model, or any OpenAI-compatible
endpoint); the method's settings from `self_instruct` / `evol`. The output dir follows the
run-dir rules (rundir.py): a dir that holds a synth run is refused unless `--resume` continues
it where it stopped (refused when a setting that decides its records changed: `RESUME_KEYS`) or
`--overwrite` replaces it; so the saved config.yaml always describes the records beside it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from instructune import rundir
from instructune.config import Config, ConfigError, save_config, to_dict
from instructune.config.diff import differences, flatten
from instructune.data.errors import DataError
from instructune.data.inputs import load_inputs
from instructune.data.jsonio import write_json, write_jsonl
from instructune.recipes.checks import CheckError, check_output_dir
from instructune.synth import evol_instruct, self_instruct

METHODS = ("self-instruct", "evol")
# Each method's log of finished steps, and the name its records carry in source.method.
STEPS_LOG = {"self-instruct": rundir.ROUNDS, "evol": rundir.EVOL_GENERATIONS}
RECORD_METHOD = {"self_instruct": "self-instruct", "evol_instruct": "evol"}
# Keys a resumed run must share with the run it continues: they decide which records it makes
# (its seeds or starting pool, prompts, filters, sampling, the generator model). The step
# count (`GROWS`) may change, to run longer; so may the generator's transport (endpoint, batch
# size, timeouts) and refine.*, which only rewrites refined.jsonl from the records.
RESUME_KEYS = {"self-instruct": ("self_instruct", "synth.backend", "synth.model", "synth.dtype"),
               "evol": ("evol", "synth.backend", "synth.model", "synth.dtype")}
GROWS = {"self-instruct": ("self_instruct.rounds", "self_instruct.max_records"), "evol": ("evol.generations",)}


def build_generator(cfg: Config):
    """The generator the `synth` section names (imported late: it loads a model)."""
    from instructune.synth.backends import build_generator as build

    return build(cfg)


def saved_method(out: Path) -> str | None:
    """The method of the synth run in `out`: from its steps log, else from its first record
    (a run killed in its first step); None when neither tells."""
    for method, log in STEPS_LOG.items():
        if (out / log).exists():
            return method
    try:
        with open(out / rundir.RECORDS, encoding="utf-8") as f:
            first = json.loads(f.readline())
    except (OSError, ValueError):
        return None
    return RECORD_METHOD.get(str(first.get("source", {}).get("method"))) if isinstance(first, dict) else None


def resume_differences(saved: dict[str, Any], cfg: Config, method: str) -> list[str]:
    """'key (saved X, now Y)' for each `RESUME_KEYS` field of `method` where `cfg` differs."""
    new = flatten(to_dict(cfg))
    return differences({k: v for k, v in flatten(saved).items() if k in new}, new,
                       only=RESUME_KEYS[method], ignore=GROWS[method])


def check_resume(cfg: Config, method: str, out: Path) -> None:
    """A resume continues a run of the same method made with the same `RESUME_KEYS`.

    Raises:
        CheckError: another method's run, no or unreadable config.yaml, or changed settings.
    """
    found = saved_method(out)
    if found is not None and found != method:
        raise CheckError(f"synth --resume: {out} holds a {found} run, not {method}; continue it with "
                         f"`instructune synth {found} --resume`, or choose a new --output")
    try:
        saved = rundir.saved_config(out)
    except ValueError as e:
        raise CheckError(f"synth --resume: {e}") from None
    if saved is None:
        raise CheckError(f"synth --resume: {out} has no config.yaml, so the settings its records were made "
                         f"with are unknown; pass --overwrite to start it over, or choose a new --output")
    diffs = resume_differences(saved, cfg, method)
    if diffs:
        raise CheckError(f"synth --resume: this command differs from the run in {out} in {'; '.join(diffs)}; "
                         f"a resumed run must keep these (its records were made with them). Continue it with "
                         f"`--recipe {out / rundir.CONFIG}`, or pass --overwrite to start over, or choose a new --output")


def main(cfg: Config, method: str, output: str | Path, gen=None, progress: bool = True, *,
         resume: bool = False, overwrite: bool = False, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run `method` into `output`, or continue the run there; returns the run report.

    Args:
        cfg: the whole config (sections `synth` and `self_instruct` or `evol`).
        method: "self-instruct" or "evol".
        output: the output dir; the resolved config is saved there as config.yaml.
        gen: a generator to use instead of building one from `cfg.synth` (tests).
        progress: show a progress bar.
        resume: continue the synth run in `output` (same method and `RESUME_KEYS`).
        overwrite: remove the synth run in `output` first (other files stay).
        say: where the line naming what --overwrite removed goes.
    Raises:
        CheckError: `output` holds a synth run and neither flag says what to do; a resume of
            another method or with changed settings.
        DataError: the run made no record (its logs stay, for --resume with more steps).
    """
    if method not in METHODS:
        raise ConfigError(f"unknown synth method {method!r}; allowed: {', '.join(METHODS)}")
    out = Path(output)
    check_output_dir("synth", out, resume, overwrite, can_resume=True)
    if resume:
        check_resume(cfg, method, out)
    if overwrite and (removed := rundir.clear(out, "synth")):
        say(f"replacing the previous synth run in {out}: removed {', '.join(removed)}")
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / rundir.CONFIG)
    gen = gen or build_generator(cfg)
    if method == "self-instruct":
        seeds = self_instruct.load_seed_tasks(cfg.self_instruct.seeds, cfg.self_instruct.seed_format)
        report = self_instruct.run(gen, seeds, cfg.self_instruct, out, progress)
    else:
        inputs = load_inputs(cfg.evol.input, cfg.evol.input_format)
        report = evol_instruct.run(gen, inputs, cfg.evol, out, progress=progress)
    if not report["records"]:  # the logs stay: a resume with more steps continues them
        raise DataError(str(out / rundir.RECORDS), f"no record made ({report['rejected']} candidates rejected"
                        + (f": {report['reasons']}" if report["reasons"] else "") + f"; see {out / rundir.REJECTS})")
    if cfg.refine.rounds:
        report["refine"] = refine_output(cfg, out, gen)
        write_json(out / rundir.RUN_REPORT, report)
    return report


def refine_output(cfg: Config, out: Path, gen) -> dict[str, Any]:
    """Self-Refine the run's records (`refine.*`) into OUT/refined.jsonl, scored by the quality
    scorers (`quality.*`); records.jsonl, the resumable log, stays as generated."""
    from instructune.recipes import quality
    from instructune.synth.refine import refine_records

    records = load_inputs([str(out / rundir.RECORDS)], "records")
    data = quality.scoring_set(cfg, records)
    r = cfg.refine
    refined, stats = refine_records(records, gen, r.rounds, quality.score_function(cfg.quality, data),
                                    max_new_tokens=r.max_new_tokens, temperature=r.temperature,
                                    min_gain=r.min_gain, seed=r.seed)
    write_jsonl(out / rundir.REFINED, (x.to_dict() for x in refined))
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
    console.print(f"wrote {Path(output) / rundir.RECORDS} (report: {Path(output) / rundir.RUN_REPORT})")
