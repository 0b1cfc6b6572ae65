"""`instructune ablate`: arms × seeds of one recipe, trained and evaluated alike, summarised
with intervals.

    instructune ablate --recipe quickstart --output runs/abl --seeds 3 \\
        --arm r8 lora.r=8 --arm r16 lora.r=16
    # or an `ablation:` section in the recipe: {arms: {r8: [lora.r=8], r16: [lora.r=16]}, seeds: 3}

Layout of the output dir:
    base/eval.json             the base model, evaluated once (IF accuracy, forgetting baseline)
    cells/ARM/seed-K/          a run dir per cell (train + eval of the tuned model); cell.json
                               marks it done (a finished cell keeps its adapter and export, not
                               its checkpoints: a cell is never resumed)
    ablation.json              per arm: every metric's mean and interval, and the paired
                               difference from the first arm (the baseline): over seeds × items
                               where cells kept eval_items.json, with p-values (Holm-adjusted
                               over the headline family too) and minimum detectable effects
    report.html                what each arm bought and what it cost

A dir that already holds an ablation is refused unless `--resume` continues it (finished cells
are skipped, a cell killed midway has no cell.json and is redone from scratch) or `--overwrite`
starts it over. A cell is keyed by its full resolved config (cell.json records it), less what
cannot change its results (`keyed`: where it was written, its threads, the grid's shape, the
sections that only other commands read, the settings of switched-off add-ons):
when the shared overrides or an arm's settings changed since a cell (or the base evaluation) was
made, `--resume` is refused with the changed keys, so old metrics are never reported under new
settings.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from instructune.config import Config, ConfigError, load_config, save_config, to_dict
from instructune.config.diff import differences, flatten, under_any
from instructune.data.jsonio import write_json
from instructune.evaluate.ablation import DONE, Cell, cell_items, cells, finished, summarize
from instructune.evaluate.two_way_bootstrap import ItemScores
from instructune.evaluate.ablation_report import ablation_page
from instructune.evaluate.results_table import IFEVAL_LEVELS
from instructune.model.addons import ADDONS
from instructune.recipes import evaluate, train
from instructune.rundir import RunDir


def arms_of(cfg: Config, cli_arms: list[list[str]] | None) -> dict[str, list[str]]:
    """Arms from `--arm NAME key=value ...` flags, else from the config's `ablation.arms`."""
    if cli_arms:
        arms = {}
        for arm in cli_arms:
            name, overrides = arm[0], arm[1:]
            if "=" in name:
                raise ConfigError(f"ablate: --arm takes a name first, then key=value overrides; got {name!r}")
            if name in arms:
                raise ConfigError(f"ablate: arm {name!r} given twice")
            arms[name] = overrides
        return arms
    return dict(cfg.ablation.arms)


def cell_config(recipe: str | None, overrides: list[str], cell: Cell, root: Path) -> Config:
    """The config of one cell: recipe, shared overrides, the arm's overrides, its seed and dir."""
    return load_config(recipe, [*overrides, *cell.overrides, f"train.seed={cell.seed}",
                                f"output_dir={cell.dir(root)}"])


# Not part of a cell's key, because they change none of its results: where it writes, how many
# CPU threads it used, the shape of the grid it sits in (`ablation`: a grid can grow seeds or arms
# around finished cells), and the sections only other commands read (a cell is `train` then
# `evaluate`; growth, scoring, serving and pipeline stages never run in one).
UNKEYED = ("output_dir", "threads", "ablation", "quality", "self_instruct", "evol", "refine", "serve",
           "pipeline")
ABLATION_OUTPUTS = ("cells", "base", "ablation.json", "report.html", "config.yaml")


def keyed(flat: dict[str, Any]) -> dict[str, Any]:
    """The keys of flat config `flat` that can change a cell's results: less `UNKEYED`, and less
    the settings of a section switched off by its `enabled` key (an add-on, augmentation), so a
    setting added to an unused section later does not make finished cells stale."""
    flat = {k: v for k, v in flat.items() if not under_any(k, UNKEYED)}
    off = [k[: -len(".enabled")] for k, v in flat.items() if k.endswith(".enabled") and v is False]
    return {k: v for k, v in flat.items() if k.endswith(".enabled") or not under_any(k, off)}


def cell_key(cfg: Config) -> dict[str, Any]:
    """What a cell's results depend on: its flat resolved config (as JSON stores it), `keyed`."""
    return json.loads(json.dumps(keyed(flatten(to_dict(cfg)))))  # tuples become lists, as cell.json has them


def earlier_forms(saved: dict[str, Any]) -> dict[str, Any]:
    """A marker's flat config with each enabled add-on's settings added since it was written set
    to the form the add-on had then (`Addon.saved_section`, the rule a saved run reloads by):
    a cell made before `scope` existed ran its segment vectors on every token, `scope: all`."""
    out = dict(saved)
    for name, addon in ADDONS.items():
        prefix = f"addons.{name}."
        if saved.get(prefix + "enabled") is True:
            for k, v in addon.saved_section({}).items():
                out.setdefault(prefix + k, v)
    return out


def changed_keys(marker: dict[str, Any], key: dict[str, Any]) -> list[str]:
    """How a finished cell's recorded config differs from what this command would run (markers
    written before a key was left out of `keyed` still record it: filtered the same way)."""
    if "config" not in marker:
        return ["(its settings were not recorded: made by an older instructune)"]
    return differences(keyed(earlier_forms(marker["config"])), key)


def flat_metrics(ev: dict[str, Any], summary: dict[str, Any], base: dict[str, Any] | None) -> dict[str, float]:
    """One cell's numbers: held-out sets, IF accuracies, forgetting against the base model,
    parameters and time per step."""
    tuned = ev["tuned"]
    out: dict[str, float] = {}
    for name, m in tuned.get("sets", {}).items():
        for k in ("response_loss", "perplexity"):
            if k in m:
                out[f"{name}.{k}"] = m[k]
        if "rouge_l" in m:
            out[f"{name}.rouge_l"] = m["rouge_l"]["mean"]
        if "exact_match" in m:
            out[f"{name}.exact_match"] = m["exact_match"]["accuracy"]
    for level in IFEVAL_LEVELS:
        acc = tuned.get("ifeval", {}).get(level, {}).get("accuracy")
        if acc is not None:
            out[f"ifeval.{level}"] = acc
    if "forgetting" in tuned:
        out["forgetting.perplexity"] = tuned["forgetting"]["perplexity"]
        if base and "forgetting" in base:
            out["forgetting.relative_change"] = tuned["forgetting"]["perplexity"] / base["forgetting"]["perplexity"] - 1
    params = summary.get("parameters", {})
    for k in ("trainable", "added", "total"):
        if k in params:
            out[f"params.{k}"] = params[k]
    if summary.get("seconds_per_step"):
        out["time.step_s"] = summary["seconds_per_step"]
    if "loss" in summary.get("final", {}):
        out["train.final_loss"] = summary["final"]["loss"]
    return out


def read_items(run: Path, label: str) -> dict[str, dict[str, list]] | None:
    """One model's entries of a run dir's eval_items.json; None when the run has none (made
    before eval kept per-item scores, or the model was not evaluated there)."""
    path = RunDir(run).items
    return json.loads(path.read_text()).get(label) if path.exists() else None


def current_base_items(root: Path, bcfg: Config) -> dict[str, dict[str, list]] | None:
    """The base model's per-item scores, when its evaluation was made with `bcfg`'s settings
    (a --summary-only look never pairs cells with a base made under other settings)."""
    marker = finished(root / "base")
    if marker is None or changed_keys(marker, cell_key(bcfg)):
        return None
    return read_items(root / "base", "base")


def items_of(run: Path, base: dict[str, dict[str, list]] | None) -> dict[str, ItemScores]:
    """A finished cell's per-item scores under its metric names ({} without eval_items.json)."""
    tuned = read_items(run, "tuned")
    return cell_items(tuned, base) if tuned else {}


def run_cell(cfg: Config, cell: Cell, base: dict[str, Any] | None, console: Console) -> dict[str, float]:
    """Train and evaluate one cell from scratch; mark it done with its metrics."""
    run = Path(cfg.output_dir)
    shutil.rmtree(run, ignore_errors=True)  # a killed cell left a partial run: start it over
    summary = train.main(cfg)
    ev = evaluate.main(cfg, tuned=str(run), out_dir=str(run), console=console, with_base=False)
    metrics = flat_metrics(ev, summary, base)
    write_json(run / DONE, {"arm": cell.arm, "seed": cell.seed, "overrides": list(cell.overrides),
                            "config": cell_key(cfg), "metrics": metrics})
    # A killed cell restarts from scratch, so a finished one's checkpoints (optimizer state; for
    # full fine-tuning GBs per cell) are never read again.
    shutil.rmtree(RunDir(run).checkpoints, ignore_errors=True)
    return metrics


def base_config(recipe: str | None, overrides: list[str], root: Path) -> Config:
    """The config the base model is evaluated with (the recipe and shared overrides)."""
    return load_config(recipe, [*overrides, f"output_dir={root / 'base'}"])


def base_eval(cfg: Config, root: Path, console: Console) -> dict[str, Any]:
    """The base model's figures, evaluated once for every arm (kept in ROOT/base, keyed by
    `cfg` in ROOT/base/cell.json like a cell)."""
    done = finished(root / "base")
    if done is not None and RunDir(root / "base").eval.exists():
        return json.loads(RunDir(root / "base").eval.read_text())["base"]
    shutil.rmtree(root / "base", ignore_errors=True)
    base = evaluate.main(cfg, tuned=None, out_dir=str(root / "base"), console=console)["base"]
    write_json(root / "base" / DONE, {"config": cell_key(cfg)})
    return base


def stale_cells(markers: dict[str, tuple[dict[str, Any] | None, Config]]) -> dict[str, list[str]]:
    """name → changed keys, for each finished cell (or the base) whose recorded config is not
    the one this command gives it."""
    out = {}
    for name, (marker, cfg) in markers.items():
        if marker is not None and (diffs := changed_keys(marker, cell_key(cfg))):
            out[name] = diffs
    return out


def stale_message(root: Path, stale: dict[str, list[str]]) -> str:
    """One line naming the cells whose settings changed and how, and the two ways out."""
    shown = "; ".join(f"{name}: {', '.join(diffs[:4])}{' ...' if len(diffs) > 4 else ''}"
                      for name, diffs in list(stale.items())[:3])
    more = f" (and {len(stale) - 3} more)" if len(stale) > 3 else ""
    return (f"ablate: {root} holds results made with other settings, which would be reported under "
            f"this command's: {shown}{more}. Pass --overwrite to start the ablation over, or choose a "
            f"new --output")


def remove_outputs(root: Path) -> None:
    """What an earlier ablation wrote in `root` (`ABLATION_OUTPUTS`); anything else stays."""
    for name in ABLATION_OUTPUTS:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def check_output(root: Path, resume: bool, overwrite: bool, run: bool) -> None:
    """The run-dir rules of `train`: a dir holding an ablation needs --resume or --overwrite."""
    if resume and overwrite:
        raise ConfigError("ablate: --resume and --overwrite exclude each other: continue the ablation or start it over")
    held = [n for n in ABLATION_OUTPUTS if (root / n).exists()]
    if run and held and not (resume or overwrite):
        raise ConfigError(f"ablate: --output {root} already holds an ablation ({', '.join(held)}); pass --resume "
                          f"to continue it, --overwrite to start it over, or choose a new --output")


def main(cfg: Config, recipe: str | None, overrides: list[str], output: str | Path,
         cli_arms: list[list[str]] | None = None, seeds: int | None = None,
         console: Console | None = None, run: bool = True, resume: bool = False,
         overwrite: bool = False) -> dict[str, Any]:
    """Run every unfinished cell, then write ablation.json and report.html; returns the summary.

    Args:
        cfg: the resolved config of the recipe + shared overrides (checked before anything runs).
        recipe, overrides: how each cell's config is built (plus the arm's overrides and seed).
        output: the ablation dir.
        cli_arms: `--arm NAME key=value ...` lists; None uses `ablation.arms`.
        seeds: seeds per arm; None uses `ablation.seeds`.
        run: False: train nothing, summarise the cells finished so far (a look at an ablation
            still running; arms without a finished cell, and cells made with other settings,
            are left out).
        resume: continue the ablation in `output` (finished cells with the same config are skipped).
        overwrite: remove what an earlier ablation left in `output` and start over.
    Raises:
        ConfigError: `output` holds an ablation and neither flag is given; or a finished cell (or
            the base evaluation) was made with other settings than this command gives it.
    """
    console = console or Console()
    root = Path(output)
    arms = arms_of(cfg, cli_arms)
    if len(arms) < 2:
        raise ConfigError("ablate: give at least two arms (--arm NAME key=value ..., the first is the baseline)")
    n_seeds = seeds or cfg.ablation.seeds
    seed_list = list(range(cfg.ablation.first_seed, cfg.ablation.first_seed + n_seeds))
    grid = cells(arms, seed_list)
    # every cell's config must load, and no finished cell may be stale, before the first one trains
    configs = {c: cell_config(recipe, overrides, c, root) for c in grid}
    check_output(root, resume, overwrite, run)
    if run and overwrite:
        remove_outputs(root)
    with_base = "forgetting" in cfg.eval.suites and run
    bcfg = base_config(recipe, overrides, root)
    markers = {f"{c.arm} seed {c.seed}": (finished(c.dir(root)), configs[c]) for c in grid}
    stale = stale_cells({**markers, **({"base" + " evaluation": (finished(root / "base"), bcfg)} if with_base else {})})
    if stale and run:
        raise ConfigError(stale_message(root, stale))
    root.mkdir(parents=True, exist_ok=True)
    if run:
        save_config(cfg, root / "config.yaml")
    base = base_eval(bcfg, root, console) if with_base else None
    results: dict[str, dict[int, dict[str, float]]] = {a: {} for a in arms}
    items: dict[str, dict[int, dict[str, ItemScores]]] = {a: {} for a in arms}
    base_items = current_base_items(root, bcfg)
    for i, c in enumerate(grid, 1):
        name = f"{c.arm} seed {c.seed}"
        marker = markers[name][0]
        if name in stale:
            console.print(f"[{i}/{len(grid)}] {name}: made with other settings, left out")
            continue
        if marker is not None:
            console.print(f"[{i}/{len(grid)}] {name}: done earlier, skipped")
            done = marker["metrics"]
        elif not run:
            console.print(f"[{i}/{len(grid)}] {name}: not finished, left out")
            continue
        else:
            console.rule(f"[{i}/{len(grid)}] {name}")
            t0 = time.perf_counter()
            done = run_cell(configs[c], c, base, console)
            console.print(f"{name}: {time.perf_counter() - t0:.0f} s")
        results[c.arm][c.seed] = done
        items[c.arm][c.seed] = items_of(c.dir(root), base_items)
    results = {a: r for a, r in results.items() if r}
    e = cfg.eval
    summary = summarize(results, next(iter(arms)), e.confidence, items, e.seed, e.bootstrap, cfg.ablation.headline)
    summary["arms_overrides"] = arms
    summary["seeds"] = seed_list
    write_json(root / "ablation.json", summary)
    setup = [("recipe", recipe or "(defaults)"), ("shared overrides", " ".join(overrides) or "none"),
             ("seeds", ", ".join(map(str, seed_list))),
             *[(f"arm {a}" + (" (baseline)" if j == 0 else ""), " ".join(ov) or "(recipe as is)")
               for j, (a, ov) in enumerate(arms.items())]]
    (root / "report.html").write_text(ablation_page(summary, f"instructune ablation: {root.name}", setup))
    return summary
