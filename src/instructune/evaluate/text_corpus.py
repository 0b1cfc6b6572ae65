"""Reference text for general-text perplexity (forgetting): the shipped corpus or your own.

    load_corpus(None)              # the shipped corpus (also "builtin")
    load_corpus("notes.txt")       # documents separated by a line holding only ---
    load_corpus("web.jsonl")       # one JSON object per line with a "text" field
    load_corpus("saved_dir/")      # a datasets.save_to_disk directory with a "text" column

Every source gives a list of documents (strings), in file order. The order matters when a
token budget scores only the first documents, so keep it the same between runs.

The shipped corpus (`corpus/general.txt`, Apache-2.0, written for this project) holds 50
documents of general English prose (encyclopedic entries, narrative, news-like reports,
technical explanations, letters, recipes, history, science), with genres interleaved so any
leading slice is a mix.
"""

from __future__ import annotations

import re
from pathlib import Path

from instructune.data.errors import DataError
from instructune.data.jsonio import iter_json_rows

BUILTIN = Path(__file__).parent / "corpus" / "general.txt"
SEPARATOR = re.compile(r"^[ \t]*---[ \t]*$", re.MULTILINE)  # a line holding only ---


def load_corpus(spec: str | Path | None = None) -> list[str]:
    """Documents of a reference corpus.

    Args:
        spec: None or "builtin" for the shipped corpus; a `.txt` file (documents separated by
            a line holding only `---`; blank lines inside a document are kept); a `.jsonl` /
            `.json` file of objects with a string `text` field; or a directory written by
            `datasets.Dataset.save_to_disk` with a `text` column.
    Returns:
        the documents, stripped, in order (empty `.txt` documents are dropped).
    Raises:
        FileNotFoundError: `spec` does not exist.
        DataError: a row without a non-empty string `text`, bad JSON, or an unknown file type;
            it names the file, the line (or row) and the field.
    """
    if spec is None or str(spec) == "builtin":
        return read_txt(BUILTIN)
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"corpus {spec} does not exist")
    if path.is_dir():
        return read_saved_dataset(path)
    if path.suffix == ".txt":
        return read_txt(path)
    if path.suffix in (".jsonl", ".json"):
        return read_jsonl(path)
    raise DataError(str(path), "unknown corpus type: use a .txt or .jsonl file, or a directory "
                               "written by datasets' save_to_disk")


def read_txt(path: str | Path) -> list[str]:
    """Documents of a text file, separated by lines holding only `---`."""
    text = Path(path).read_text(encoding="utf-8")
    return [d.strip() for d in SEPARATOR.split(text) if d.strip()]


def _text_of(path: str, row, where: dict[str, int]) -> str:
    """The non-empty string `text` of one row, or a DataError naming where it is."""
    if not isinstance(row, dict):
        raise DataError(path, f"expected a JSON object with a 'text' field, got {type(row).__name__}", **where)
    text = row.get("text")
    if not isinstance(text, str):
        got = "missing" if text is None else f"not a string ({type(text).__name__})"
        raise DataError(path, got, field="text", **where)
    if not text.strip():
        raise DataError(path, "empty", field="text", **where)
    return text


def read_jsonl(path: str | Path) -> list[str]:
    """The `text` field of every row of a JSONL file (or JSON array)."""
    return [_text_of(str(path), row, loc) for loc, row in iter_json_rows(path)]


def read_saved_dataset(path: str | Path) -> list[str]:
    """The `text` column of a dataset saved with `save_to_disk` (a DatasetDict must hold one
    split)."""
    from datasets import DatasetDict, load_from_disk

    try:
        ds = load_from_disk(str(path))
    except FileNotFoundError as e:
        raise DataError(str(path), f"not a directory written by datasets' save_to_disk ({e})") from None
    if isinstance(ds, DatasetDict):
        if len(ds) != 1:
            raise DataError(str(path), f"a DatasetDict with splits {', '.join(ds)}; save the one split to score")
        ds = next(iter(ds.values()))
    if "text" not in ds.column_names:
        raise DataError(str(path), f"no 'text' column (columns: {', '.join(ds.column_names)})", field="text")
    return [_text_of(str(path), {"text": t}, {"index": i}) for i, t in enumerate(ds["text"])]
