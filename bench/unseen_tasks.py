"""Generalization to unseen tasks on P3 templates: hold out a whole task cluster, train on the rest.

    python bench/unseen_tasks.py --data-dir DATA --work RUNS/unseen [--heldout-cluster sentiment]
        [--train-per-template 8] [--heldout-per-template 4]
    instructune train --recipe RUNS/unseen/recipe.yaml output_dir=RUNS/unseen/run
    instructune eval --recipe RUNS/unseen/recipe.yaml --tuned RUNS/unseen/run "eval.suites=[loss,generation]"

DATA is the shared datasets folder; its `p3-multitask/CLUSTER/TEMPLATE.jsonl` files (P3/T0 prompt
templates, 150 rows each, grouped into the T0 paper's task clusters) are read in place. Each
template's last rows become held-out records and the rows before them training records, written
as small JSONL files under --work (outside the repository); the recipe names every file as an
entry with its cluster as `task`, and `data.heldout_tasks` keeps the held-out cluster out of
training. `instructune eval` then reports held-out loss, ROUGE-L and exact match on the seen
clusters (`heldout_seen`) and on the unseen one (`heldout_unseen`), base against tuned.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def answered(line: str) -> bool:
    """Whether a P3 row has a completion once its end-of-text marker is stripped (a few rows
    have none; the p3 reader refuses them)."""
    return bool(json.loads(line)["completion"].replace("<|endoftext|>", "").strip())


def split_template(path: Path, n_train: int, n_held: int) -> tuple[list[str], list[str]]:
    """(training lines, held-out lines) of one template file: held-out from its end, so the two
    never share a row; a short file gives a third of its rows to held-out."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and answered(ln)]
    held = min(n_held, max(1, len(lines) // 3))
    return lines[:len(lines) - held][:n_train], lines[len(lines) - held:]


def recipe(entries: dict[str, list[dict]], heldout_cluster: str, max_length: int) -> dict:
    """The training recipe: the quickstart's LoRA settings on the P3 entries."""
    return {
        "model": {"name": "smollm2-135m-instruct"},
        "data": {"train": entries["train"], "heldout": entries["heldout"], "heldout_tasks": [heldout_cluster],
                 "max_length": max_length},
        "template": {"name": "chat"},
        "lora": {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"},
        "train": {"method": "lora", "epochs": 2, "batch_size": 8, "lr": 0.001, "warmup_ratio": 0.1,
                  "eval_every": 0, "checkpoint_every": 0, "seed": 0},
        "eval": {"max_new_tokens": 32, "batch_size": 16},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--work", type=Path, required=True, help="where the split files and recipe.yaml go")
    ap.add_argument("--heldout-cluster", default="sentiment")
    ap.add_argument("--train-per-template", type=int, default=8)
    ap.add_argument("--heldout-per-template", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=384)
    args = ap.parse_args(argv)
    root = args.data_dir / "p3-multitask"
    clusters = sorted(p.name for p in root.iterdir() if p.is_dir())
    if args.heldout_cluster not in clusters:
        raise SystemExit(f"--heldout-cluster: {args.heldout_cluster!r} is not one of {', '.join(clusters)}")
    entries: dict[str, list[dict]] = {"train": [], "heldout": []}
    for cluster in clusters:
        for path in sorted((root / cluster).glob("*.jsonl")):
            train, held = split_template(path, args.train_per_template, args.heldout_per_template)
            if not train or not held:
                print(f"{path.relative_to(root)}: no answered rows to split, left out")
                continue
            for split, lines in (("train", train), ("heldout", held)):
                out = args.work / split / cluster / path.name
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
                entries[split].append({"path": str(out), "task": cluster})
    (args.work / "recipe.yaml").write_text(json.dumps(recipe(entries, args.heldout_cluster, args.max_length), indent=1))
    n = {k: sum(len((Path(e["path"])).read_text().splitlines()) for e in v) for k, v in entries.items()}
    print(f"{len(clusters)} clusters, {len(entries['train'])} templates; {n['train']} training and {n['heldout']} "
          f"held-out rows; held-out cluster {args.heldout_cluster}; recipe {args.work / 'recipe.yaml'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
