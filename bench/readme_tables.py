"""The README's measured tables, printed from the committed result files.

    python bench/readme_tables.py [--table quickstart|forgetting|objectives|addons ...] [--text NAME ...]
        [--results DIR]

Each table is printed as the README holds it: a marker line `<!-- readme_tables: NAME -->`,
then the markdown table. Every cell of an ablation column comes from an `ablation.json` that
`instructune ablate` wrote (committed under `bench/results/ablations/`): `arms.<arm>.metrics.
<metric>.{mean,lo,hi}` for the baseline row, `arms.<arm>.vs_baseline.<metric>.{diff,lo,hi,
significant}` (the difference from the baseline paired by seed) for the others. The interval is
what the file says in `method`: the committed files predate per-item scores and have no such
field, so they are read as they were written, Student-t intervals over seeds ("t over seeds");
files from an ablation whose cells kept eval_items.json say "bootstrap over seeds x items". A
table's caption must name the kind of interval its cells hold (the test checks it).
tests/test_readme_figures.py checks that the README's tables equal this output.

`--text NAME` prints a figure the README gives in its prose (the synth runs' counts, Self-Refine's
gain), written from its result file; the test checks that the README holds that text and names the file.

The quickstart table comes from the `eval.json` of one `instructune quickstart` run
(`bench/results/quickstart/eval.json`): base and tuned figures with their intervals, and tuned −
base paired over the same items.

The add-on table also has two throughput columns:
- "H200 tok/s": non-pad tokens/s of `bench/gpu_throughput.py` (`bench/results/gpu_h200_run5.json`),
  each add-on as a ratio to the plain run, with the peak-memory change when it is 1 GiB or more;
- "CPU step time": `bench/train_throughput.py --out FILE` on a quiet CPU, read from
  `bench/results/cpu_throughput/train_throughput.json` when that file exists. Until it does, the column
  shows the figures of an earlier measurement that has no committed file (`CPU_PENDING` below),
  and the README's caption must say so (the test checks it).

Formatting: losses to 4 decimals (3 for the differences in the forgetting and objectives
tables), IF accuracies to 3, the perplexity change in percent for the baseline and in
percentage points (pt) for differences (2 decimals under 0.1 pt); "n.s." where the paired
interval holds 0; "in every seed" where the difference is the same in each seed (no interval);
"(1 seed)" for a difference from one seed; "–" for a metric whose suite the arm's ablation did
not run. An ablation may hold fewer seeds than the baseline file: the shared seeds' baseline cells
must agree (to `BASELINE_RTOL`: a cell retrained with the same settings differs in float noise).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MINUS = "\u2212"

LOSS = "heldout.response_loss"
IF_PROMPT = "ifeval.prompt_level_loose"
IF_INSTR = "ifeval.instruction_level_loose"
PPL = "forgetting.relative_change"
ADDED = "params.added"
SHARED = ("lora.r=16", "lora.alpha=32")  # the overrides every LoRA arm shares with the baseline
BASELINE_RTOL = 1e-4  # how closely the baseline cells of two ablation files must agree

GPU_FILE = "gpu_h200_run5.json"
CPU_FILE = "cpu_throughput/train_throughput.json"
PENDING_NOTE = "(no committed file; rerun pending)"
# Trained tokens/s per contender of bench/train_throughput.py from a measurement on a quiet
# 2-core CPU (2026-11-27) whose result file was not committed; the README says so. Replaced by
# CPU_FILE once it is committed.
CPU_PENDING = {"tokens_per_s": {"instructune": 77.6, "instructune+segment_embedding": 72.7,
                                "instructune+instruction_attention": 70.7, "instructune+two_stream": 72.2,
                                "instructune+reasoning_head": 73.0, "instructune+temperature_head": 72.8},
               "s_per_step": {"instructune": 1.03}}


@dataclass(frozen=True)
class Row:
    label: str
    file: str  # under ablations/
    arm: str
    settings: bool = True  # append the arm's own overrides to the label
    bold: frozenset = field(default_factory=frozenset)  # column keys printed in bold


@dataclass(frozen=True)
class Table:
    name: str
    header: tuple[str, ...]
    baseline_label: str
    rows: tuple[Row, ...]
    style: str  # "compact": n.s. differences without interval; "full": always the interval
    extra: tuple[str, ...] = ()  # other files under bench/results the table reads

    def sources(self) -> list[str]:
        """The files under bench/results the table comes from."""
        return sorted({f"ablations/{r.file}" for r in self.rows}) + list(self.extra)


TABLES = {t.name: t for t in (
    Table("forgetting",
          ("arm (settings)", "held-out response loss", "IF prompt", "IF instruction", "ppl change"),
          "LoRA r16",
          (Row("LoRA + L2-SP", "forget.json", "l2sp"),
           Row("LoRA + EWC", "forget.json", "ewc_0.1"),
           Row("LoRA + EWC", "forget.json", "ewc_1"),
           Row("LoRA + EWC", "forget.json", "ewc_10"),
           Row("full fine-tuning", "forget-full.json", "full"),
           Row("full fine-tuning", "forget-hi.json", "full_lr1e-3", bold=frozenset({"ppl"})),
           Row("full + EWC", "forget-hi.json", "full_lr1e-3_ewc"),
           Row("full + EWC", "forget-hi2.json", "full_lr1e-3_ewc_1"),
           Row("full + L2-SP", "forget-hi.json", "full_lr1e-3_l2sp"),
           Row("full + L2-SP", "forget-hi3.json", "full_lr1e-3_l2sp_1")),
          "compact"),
    Table("objectives",
          ("arm (settings)", "held-out response loss", "IF prompt", "IF instruction", "ppl change"),
          "LoRA r16",
          (Row("dual objective", "terms.json", "dual"),
           Row("multi-task, learned", "terms.json", "multitask_learned"),
           Row("multi-task, inverse frequency", "terms.json", "multitask_invfreq"),
           Row("instruction representation", "rep.json", "representation")),
          "compact"),
    Table("addons",
          ("arm", "held-out response loss", "IF prompt loose (48)", "IF instruction loose",
           "general-text ppl change (pt: percentage points)", "params added", "CPU step time", "H200 tok/s"),
          "LoRA (baseline)",
          (Row("+ segment embedding", "addons.json", "segment_embedding", settings=False),
           Row("+ instruction-guided attention, score form", "addons.json", "instruction_attention", settings=False),
           Row("+ instruction-guided attention, key form", "attention_key_bias.json", "attn_key", settings=False),
           Row("+ two-stream encoder", "addons.json", "two_stream", settings=False),
           Row("+ two-stream, `encoder: minilm`", "addons.json", "two_stream_minilm", settings=False),
           Row("+ reasoning head", "addons.json", "reasoning_head", settings=False),
           Row("+ temperature head", "addons.json", "temperature_head", settings=False)),
          "full", extra=(GPU_FILE,)),
)}


SEED_T = "t over seeds"  # the interval of a file written before ablation.json said its method
# What a caption must say for the intervals a table holds.
METHOD_WORDS = {SEED_T: "t interval", "bootstrap over seeds x items": "seeds × items"}


def method(d: dict) -> str:
    """How a difference's interval was made; files without `method` hold t intervals over seeds."""
    return d.get("method", SEED_T)


def interval_methods(table: Table, results: Path = RESULTS) -> list[str]:
    """The kinds of interval the table's difference cells hold, sorted."""
    metrics = (LOSS, IF_PROMPT, IF_INSTR, PPL)
    return sorted({method(vb[m]) for r in table.rows
                   for vb in [load(results, r.file)["arms"][r.arm]["vs_baseline"]]
                   for m in metrics if m in vb})  # an arm from an ablation without IFEval has no IF cells


def signed(x: float, dp: int) -> str:
    s = f"{x:+.{dp}f}"
    return s.replace("-", MINUS)


def plain(x: float, dp: int) -> str:
    return f"{x:.{dp}f}".replace("-", MINUS)


def pt_dp(x: float) -> int:
    return 2 if abs(x) < 0.1 else 1


def mean_cell(m: dict, dp: int, pct: bool = False) -> str:
    """The baseline's mean [lo, hi]; `pct` prints a relative change in percent."""
    if pct:
        return f"{plain(100 * m['mean'], 1)}% [{plain(100 * m['lo'], 1)}%, {plain(100 * m['hi'], 1)}%]"
    return f"{plain(m['mean'], dp)} [{plain(m['lo'], dp)}, {plain(m['hi'], dp)}]"


def diff_cell(d: dict | None, dp: int, style: str, scale: float = 1.0, unit: str = "", bold: bool = False) -> str:
    """A paired difference from the baseline: value [lo, hi], "n.s." where the interval holds 0;
    "–" for a metric the arm's ablation did not evaluate (d None)."""
    if d is None:
        return "–"
    x, lo, hi = d["diff"] * scale, d["lo"] * scale, d["hi"] * scale
    if unit == " pt":
        dp = pt_dp(x)
    value = signed(x, dp) + unit
    if d["n"] == 1 and method(d) == SEED_T:  # one seed: no spread over seeds to give an interval
        return f"{value} (1 seed)"
    if d["n"] >= 2 and lo == hi:  # the same difference in every seed: no spread to give an interval
        text = f"{value} in every seed"
    elif not d["significant"] and style == "compact":
        text = f"{value} n.s."
    else:
        text = f"{value} [{signed(lo, dp)}, {signed(hi, dp)}]"
        if bold:
            text = f"**{text}**"
        if not d["significant"]:
            text += " n.s."
        return text
    return f"**{text}**" if bold else text


def load(results: Path, name: str) -> dict:
    return json.loads((results / "ablations" / name).read_text())


def settings_of(summary: dict, arm: str) -> str:
    extra = [o for o in summary["arms_overrides"][arm] if o not in SHARED]
    return " ".join(extra)


def baseline_arm(results: Path, table: Table) -> dict:
    """The baseline arm, the same cells in every source (checked)."""
    arms = []
    for name in sorted({r.file for r in table.rows}):
        s = load(results, name)
        arms.append((name, s["arms"][s["baseline"]]))
    first_name, first = arms[0]
    for name, arm in arms[1:]:
        # The seeds and metrics both files hold (an ablation may run fewer seeds or suites).
        for metric in set(arm["metrics"]) & set(first["metrics"]) & {LOSS, IF_PROMPT, IF_INSTR, PPL}:
            mine, theirs = arm["metrics"][metric]["values"], first["metrics"][metric]["values"]
            # Cells retrained with the same settings agree to float noise (~1e-6), not bit for bit.
            shared = set(mine) & set(theirs)
            if any(not math.isclose(mine[seed], theirs[seed], rel_tol=BASELINE_RTOL) for seed in shared):
                raise SystemExit(f"{name} and {first_name} have different baseline cells for {metric}")
    return first


def throughput(results: Path) -> tuple[dict | None, dict, bool]:
    """(GPU results by contender or None, CPU {"tokens_per_s", "s_per_step"} by contender, CPU pending?)."""
    gpu_path = results / GPU_FILE
    gpu = json.loads(gpu_path.read_text()) if gpu_path.exists() else None
    cpu_path = results / CPU_FILE
    if cpu_path.exists():
        res = json.loads(cpu_path.read_text())["results"]
        cpu = {"tokens_per_s": {k: v["tokens_per_s"] for k, v in res.items() if v.get("ok")},
               "s_per_step": {k: v["s_per_step"] for k, v in res.items() if v.get("ok")}}
        return gpu, cpu, False
    return gpu, CPU_PENDING, True


def addon_speed_cells(arm: str | None, gpu: dict | None, cpu: dict) -> list[str]:
    """CPU step time and H200 tok/s of the plain run (arm None) or of one add-on (a ratio)."""
    base = "instructune"
    if arm is None:
        cpu_cell = (f"{cpu['s_per_step'][base]:.2f} s ({cpu['tokens_per_s'][base]:.1f} tok/s)"
                    if base in cpu["tokens_per_s"] else "–")
        gpu_cell = f"{gpu[base]['nonpad_tok_s']:,.0f}" if gpu and base in gpu else "–"
        return [cpu_cell, gpu_cell]
    name = f"{base}+{arm}"
    toks = cpu["tokens_per_s"]
    # Step time as a multiple of the plain run's: the plain run's tokens/s over the add-on's.
    cpu_cell = f"×{toks[base] / toks[name]:.2f}" if name in toks else "–"
    if gpu and name in gpu:
        g = f"×{gpu[name]['nonpad_tok_s'] / gpu[base]['nonpad_tok_s']:.2f}"
        extra = gpu[name]["peak_mem_gib"] - gpu[base]["peak_mem_gib"]
        if abs(extra) >= 1:
            g += f", {signed(extra, 0)} GiB"
    else:
        g = "–"
    return [cpu_cell, g]


def build(table: Table, results: Path = RESULTS) -> tuple[list[str], bool]:
    """The table's lines (marker, header, rule, rows) and whether it shows pending CPU figures."""
    base = baseline_arm(results, table)
    bm = base["metrics"]
    lines = [f"<!-- readme_tables: {table.name} -->",
             "| " + " | ".join(table.header) + " |",
             "|" + "---|" * len(table.header)]
    first = [table.baseline_label, mean_cell(bm[LOSS], 4), mean_cell(bm[IF_PROMPT], 3),
             mean_cell(bm[IF_INSTR], 3), mean_cell(bm[PPL], 1, pct=True)]
    pending = False
    if table.name == "addons":
        gpu, cpu, pending = throughput(results)
        first += [f"{bm[ADDED]['mean']:,.0f} (LoRA)"] + addon_speed_cells(None, gpu, cpu)
    lines.append("| " + " | ".join(first) + " |")
    loss_dp = 4 if table.style == "full" else 3
    for row in table.rows:
        s = load(results, row.file)
        vb = s["arms"][row.arm]["vs_baseline"]
        label = f"{row.label} (`{settings_of(s, row.arm)}`)" if row.settings else row.label
        seeds = vb[LOSS]["n"]
        if seeds != len(bm[LOSS]["values"]) and seeds > 1:  # a smaller ablation than the baseline's: say so
            label += f" ({seeds} seeds)"
        ppl = diff_cell(vb[PPL], 1, table.style, scale=100, unit=" pt", bold="ppl" in row.bold)
        if table.name == "addons" and vb[PPL]["significant"]:
            # A measurable perplexity change: bold, and where it leaves the tuned model.
            ppl = f"**{ppl}** (to {signed(100 * s['arms'][row.arm]['metrics'][PPL]['mean'], 1)}%)"
        cells = [label, *(diff_cell(vb[m], dp, table.style) if m in vb else "–"  # a suite the arm did not run
                          for m, dp in ((LOSS, loss_dp), (IF_PROMPT, 3), (IF_INSTR, 3))), ppl]
        if table.name == "addons":
            cells += [f"+{vb[ADDED]['diff']:,.0f}"] + addon_speed_cells(row.arm, gpu, cpu)
        lines.append("| " + " | ".join(cells) + " |")
    return lines, pending


@dataclass(frozen=True)
class Column:
    metric: str  # a key of ablation.json's metrics
    header: str
    dp: int
    pct: bool = False  # a relative change: percent for the baseline, percentage points for differences


@dataclass(frozen=True)
class Experiment:
    """A table of one ablation file: every arm against its own baseline, in `columns`.
    Differences carry their unadjusted interval; "Holm" marks those still significant after
    Holm–Bonferroni over the file's arms × headline metrics (`holm` in each difference)."""

    name: str
    file: str  # under ablations/
    columns: tuple[Column, ...]


EXPERIMENTS = {e.name: e for e in (
    Experiment("masking", "masking.json",
               (Column(LOSS, "held-out response loss", 4), Column("heldout.rouge_l", "held-out ROUGE-L", 3),
                Column("heldout.exact_match", "held-out exact match", 3),
                Column(PPL, "general-text ppl change", 1, pct=True))),
    Experiment("seed_forms", "addons_seed_form.json",
               (Column(LOSS, "held-out response loss", 4), Column(PPL, "general-text ppl change", 1, pct=True))),
)}


def experiment_cell(d: dict | None, col: Column) -> str:
    """A difference from the baseline as `diff_cell` prints it in full (bold where significant),
    plus ", Holm" where it stays significant after the Holm adjustment."""
    text = diff_cell(d, col.dp, "full", scale=100 if col.pct else 1.0, unit=" pt" if col.pct else "",
                     bold=bool(d and d["significant"]))
    return text + (", Holm" if d and d.get("holm", {}).get("significant") else "")


def experiment_lines(exp: Experiment, results: Path = RESULTS) -> list[str]:
    """The experiment's table: the baseline's means [lo, hi], then each arm's paired differences."""
    s = load(results, exp.file)
    base = s["arms"][s["baseline"]]["metrics"]
    seeds = len(base[exp.columns[0].metric]["values"])
    header = (f"arm ({seeds} seed{'s' * (seeds > 1)})", *(c.header for c in exp.columns))
    lines = [f"<!-- readme_tables: {exp.name} -->", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    first = [f"{s['baseline']} (baseline)"] + [mean_cell(base[c.metric], c.dp, pct=c.pct) for c in exp.columns]
    lines.append("| " + " | ".join(first) + " |")
    for arm, v in s["arms"].items():
        if arm == s["baseline"]:
            continue
        label = f"{arm} (`{' '.join(s['arms_overrides'][arm]) or 'baseline settings'}`)"
        lines.append("| " + " | ".join([label, *(experiment_cell(v["vs_baseline"].get(c.metric), c)
                                                  for c in exp.columns)]) + " |")
    return lines + ["| " + " | ".join(["smallest difference visible (80% power, median over arms)",
                                       *(mde_cell(s, c) for c in exp.columns)]) + " |"]


def mde_cell(s: dict, col: Column) -> str:
    """± the median over arms of the minimum detectable effect, unadjusted (`mde` of each difference)."""
    mdes = sorted(v["vs_baseline"][col.metric]["mde"] for a, v in s["arms"].items()
                  if a != s["baseline"] and col.metric in v["vs_baseline"] and v["vs_baseline"][col.metric].get("mde"))
    if not mdes:
        return "–"
    m = mdes[len(mdes) // 2] * (100 if col.pct else 1)
    return f"±{plain(m, pt_dp(m) if col.pct else col.dp)}" + (" pt" if col.pct else "")


QUICKSTART_FILE = "quickstart/eval.json"
QUICKSTART_HEADER = ("", "base", "tuned", "tuned − base (paired)")


def _interval(v: dict) -> str:
    point = v.get("accuracy", v.get("mean"))
    return f"{plain(point, 3)} [{plain(v['lo'], 2)}, {plain(v['hi'], 2)}]"


def _paired(d: dict, dp: int = 3, scale: float = 1.0, unit: str = "", bound_dp: int = 2) -> str:
    text = (f"{signed(d['diff'] * scale, dp)}{unit} "
            f"[{signed(d['lo'] * scale, bound_dp)}{unit}, {signed(d['hi'] * scale, bound_dp)}{unit}]")
    return text if d["significant"] else text + ", no difference"


def quickstart_lines(results: Path = RESULTS) -> list[str]:
    """The quickstart's base / tuned table from the eval.json `instructune quickstart` wrote."""
    ev = json.loads((results / QUICKSTART_FILE).read_text())
    base, tuned, comp = ev["base"], ev["tuned"], ev["comparison"]
    hb, ht = base["sets"]["heldout"], tuned["sets"]["heldout"]
    rows = [("held-out response loss", plain(hb["response_loss"], 4), plain(ht["response_loss"], 4),
             _paired(comp["sets.heldout.response_loss"])),
            ("held-out ROUGE-L", _interval(hb["rouge_l"]), _interval(ht["rouge_l"]),
             _paired(comp["sets.heldout.rouge_l"])),
            ("held-out exact match", _interval(hb["exact_match"]), _interval(ht["exact_match"]),
             _paired(comp["sets.heldout.exact_match"]))]
    n = comp["ifeval.prompt_level_strict"]["n"]
    for level, label in (("prompt_level_strict", f"IFEval prompt strict ({n} prompts)"),
                         ("instruction_level_strict", "IFEval instruction strict")):
        rows.append((label, _interval(base["ifeval"][level]), _interval(tuned["ifeval"][level]),
                     _paired(comp[f"ifeval.{level}"])))
    meta = ev.get("meta", {})
    docs = (f" ({meta['forgetting_documents']} of {meta['forgetting_corpus_documents']} documents)"
            if "forgetting_documents" in meta and "forgetting_corpus_documents" in meta else "")
    rows.append((f"general-text perplexity{docs}", plain(base["forgetting"]["perplexity"], 2),
                 plain(tuned["forgetting"]["perplexity"], 2),
                 _paired(comp["forgetting.relative_change"], dp=1, scale=100, unit="%", bound_dp=0)))
    lines = ["<!-- readme_tables: quickstart -->", "|" + "".join(f" {h} |" if h else " |" for h in QUICKSTART_HEADER),
             "|" + "---|" * len(QUICKSTART_HEADER)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def table(name: str, results: Path = RESULTS) -> tuple[list[str], list[str], bool]:
    """Any README table by name: (its lines, the files under bench/results it reads, pending CPU figures?)."""
    if name == "quickstart":
        return quickstart_lines(results), [QUICKSTART_FILE], False
    if name in EXPERIMENTS:
        return experiment_lines(EXPERIMENTS[name], results), [f"ablations/{EXPERIMENTS[name].file}"], False
    lines, pending = build(TABLES[name], results)
    return lines, TABLES[name].sources(), pending


TABLE_NAMES = ("quickstart", *TABLES, *EXPERIMENTS)


def synth_text(report: dict) -> str:
    """A synth run's counts and cost, from the report.json `instructune synth` writes."""
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(report["reasons"].items(), key=lambda kv: (-kv[1], kv[0])))
    session = report["this_session"]
    return (f"{report['records']} records, {report['rejected']} rejected ({reasons}), "
            f"{report['requests']} requests in {session['seconds']:.0f} s, {session['records_per_minute']:.1f} records/min")


def refine_text(r: dict) -> str:
    """Self-Refine's gain and cost, from `bench/refine_gain.py --out`."""
    before, after = r["drafts"], r["refined"]
    return (f"acceptance {before['acceptance']:.0%} → {after['acceptance']:.0%}, mean quality "
            f"{before['combined']:.3f} → {after['combined']:.3f}, +{r['refine_requests']} requests "
            f"({r['refine_requests'] / r['draft_requests']:.1f}× the drafts), {r['improved']} of {r['records']} "
            f"records kept a revision")


def prompts_text(r: dict) -> str:
    """Two synth runs' acceptance with the old and the new prompts, from `bench/synth_prompts.py --out`."""
    def share(x: dict) -> str:
        return f"{x['successes']}/{x['n']}"

    def diff(d: dict) -> str:
        return f"{d['diff'] * 100:+.0f} points [{d['lo'] * 100:+.0f}, {d['hi'] * 100:+.0f}]"

    before, after = r["before"]["summary"]["acceptance"], r["after"]["summary"]["acceptance"]
    out = f"accepted {share(before)} → {share(after)}, {diff(r['acceptance_difference'])}"
    if r.get("recheck"):
        c = r["recheck"]
        out += (f"; with the prompt-copy check applied to both, {share(c['before']['acceptance'])} → "
                f"{share(c['after']['acceptance'])}, {diff(c['acceptance_difference'])}")
    return out


def domain_text(r: dict) -> str:
    """The domain scorer's precision / recall rows, from `bench/domain_scorer.py --out`
    (the README's table, its lines joined as the README's text is read: by single spaces)."""
    label = {"needs review": "needs review (any of the three)"}
    return " ".join(f"| {label.get(d, d)} | {v['precision']:.2f} | {v['recall']:.2f} |" for d, v in r["rows"].items())


# Figures the README gives in its prose: name -> (the files under bench/results, text from them).
TEXTS = {
    "synth-self-instruct": ("synth/self_instruct_report.json", synth_text),
    "synth-evol": ("synth/evol_report.json", synth_text),
    "refine": ("refine/refine_gain.json", refine_text),
    "synth-prompts-evol": ("synth/prompts_evol.json", prompts_text),
    "synth-prompts-self-instruct": ("synth/prompts_self_instruct.json", prompts_text),
    "domain": ("quality/domain_scorer.json", domain_text),
}


def text(name: str, results: Path = RESULTS) -> str:
    source, fn = TEXTS[name]
    return fn(json.loads((results / source).read_text()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", action="append", choices=TABLE_NAMES,
                    help="a table to print (repeatable; default: all, in README order)")
    ap.add_argument("--text", action="append", choices=sorted(TEXTS),
                    help="a figure of the README's prose to print (repeatable; default: all, after the tables)")
    ap.add_argument("--results", type=Path, default=RESULTS,
                    help="the bench/results dir (ablations/*.json, gpu_h200_run5.json, cpu_throughput/)")
    args = ap.parse_args(argv)
    names = args.table or ([] if args.text else list(TABLE_NAMES))
    for i, name in enumerate(names):
        lines, sources, pending = table(name, args.results)
        if i:
            print()
        kinds = interval_methods(TABLES[name], args.results) if name in TABLES else []
        print(f"{name}: from " + ", ".join(f"bench/results/{f}" for f in sources)
              + (f"; intervals: {', '.join(kinds)}" if kinds else "")
              + (f"; CPU step time {PENDING_NOTE}" if pending else ""), file=sys.stderr)
        print("\n".join(lines))
    for name in args.text or ([] if args.table else list(TEXTS)):
        print(f"\n{name} (bench/results/{TEXTS[name][0]}): {text(name, args.results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
