"""Inputs held as Arrow datasets rather than text files, read as rows like any other input.

| input                          | read as                                                      |
|---|---|
| `hf:NAME[:SPLIT]`              | a hub dataset from the local `datasets` cache only (split `train` by default) |
| `hf:NAME:CONFIG:SPLIT`         | the same, naming one of several cached configurations        |
| a folder                       | a `Dataset.save_to_disk` directory (`datasets.load_from_disk`) |
| `*.arrow`                      | an Arrow IPC file, stream format (what `datasets` writes) or file format (Feather v2) |

Nothing is ever downloaded: `hf:` names are looked up with the hub switched off for the call
(`datasets.config.HF_HUB_OFFLINE`), so a dataset that is not cached is one error saying to
load or save it locally first, never a wait on the network. Every kind is memory-mapped and
read a batch at a time, so memory stays flat however large the data; a row is located by its
0-based index, as a parquet row is, and its columns are what format detection looks at.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from instructune.data.errors import DataError
from instructune.data.jsonio import RawRow, readable

if TYPE_CHECKING:  # for annotations only: pyarrow is imported where a file is read
    import pyarrow as pa

HF_PREFIX = "hf:"
ARROW_SUFFIX = ".arrow"
BATCH_ROWS = 1024  # rows converted to Python at a time
DEFAULT_SPLIT = "train"
LOCAL_ONLY = ("instructune reads hf: datasets from the local datasets cache only: load it once with "
              "datasets.load_dataset where the hub is reachable, or save it with Dataset.save_to_disk "
              "and give that folder")


def is_dataset_input(path: str | Path) -> bool:
    """Whether `path` names a dataset (hf:, a folder, an .arrow file) rather than a text or table file."""
    text = str(path)
    return text.startswith(HF_PREFIX) or text.lower().endswith(ARROW_SUFFIX) or Path(text).is_dir()


def hf_parts(name: str) -> tuple[str, str | None, str]:
    """(dataset, configuration or None, split) of `hf:NAME[:SPLIT]` / `hf:NAME:CONFIG:SPLIT`.

    Raises:
        DataError: an empty name, or more parts than that.
    """
    parts = name[len(HF_PREFIX):].split(":")
    if not parts[0] or len(parts) > 3 or not all(parts):
        raise DataError(name, "expected hf:NAME, hf:NAME:SPLIT or hf:NAME:CONFIG:SPLIT (e.g. hf:org/data:train)")
    if len(parts) == 1:
        return parts[0], None, DEFAULT_SPLIT
    if len(parts) == 2:
        return parts[0], None, parts[1]
    return parts[0], parts[1], parts[2]


@contextlib.contextmanager
def _hub_off():
    """The hub switched off in `datasets` for one call (it reads this flag at call time), and its
    log quiet: a cache hit logs a warning that it used the cache, which is the point here."""
    import datasets

    was, level = datasets.config.HF_HUB_OFFLINE, datasets.logging.get_verbosity()
    datasets.config.HF_HUB_OFFLINE = True
    datasets.logging.set_verbosity_error()
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE = was
        datasets.logging.set_verbosity(level)


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def open_hub_cached(name: str):
    """The `datasets.Dataset` of `hf:NAME[:CONFIG][:SPLIT]`, from the local cache only.

    Raises:
        DataError: not cached (naming the cache folder), an unknown split (naming the cached
            ones), or several cached configurations and none named.
    """
    import datasets

    repo, config, split = hf_parts(name)
    try:
        with _hub_off():
            return datasets.load_dataset(repo, config, split=split, download_mode="reuse_cache_if_exists")
    except ValueError as e:
        text = str(e)
        if "Unknown split" in text or "Bad split" in text:
            raise DataError(name, f"no split {split!r} in the cached dataset ({_first_line(e)})") from None
        if "multiple" in text and "configurations" in text:
            raise DataError(name, f"{_first_line(e)}; name one as hf:{repo}:CONFIG:{split}") from None
        if "Couldn't find cache" in text:
            raise DataError(name, f"not in the local datasets cache ({datasets.config.HF_DATASETS_CACHE}) "
                                  f"as asked ({_first_line(e)}); {LOCAL_ONLY}") from None
        raise DataError(name, f"cannot be read from the local datasets cache: {_first_line(e)}") from None
    except (ConnectionError, FileNotFoundError, OSError, datasets.exceptions.DatasetNotFoundError):
        raise DataError(name, f"not in the local datasets cache ({datasets.config.HF_DATASETS_CACHE}); "
                              f"{LOCAL_ONLY}") from None


def open_saved(path: str):
    """The `datasets.Dataset` saved with `save_to_disk` in folder `path`.

    Raises:
        DataError: the folder holds a `DatasetDict` (naming its splits, each a folder of its
            own), or is not a `save_to_disk` folder at all.
    """
    import datasets

    try:
        ds = datasets.load_from_disk(path)
    except FileNotFoundError:
        raise DataError(path, "a folder, but not one written by Dataset.save_to_disk (no state.json or "
                              "dataset_dict.json in it); give the data files in it, or a save_to_disk folder") from None
    if isinstance(ds, datasets.DatasetDict):
        splits = ", ".join(ds)
        raise DataError(path, f"holds several splits ({splits}); give the folder of one, e.g. "
                              f"{Path(path) / next(iter(ds))}")
    return ds


def _arrow_batches(path: str) -> Iterator[pa.RecordBatch]:
    """The record batches of an Arrow IPC file, memory-mapped: stream format first (what
    `datasets` writes), else file format (Feather v2, `pyarrow.ipc.new_file`)."""
    import pyarrow as pa  # here, not at the top: reading a JSON file should not pay for it

    try:
        source = pa.memory_map(path)
    except OSError as e:
        raise DataError(path, f"cannot open: {_first_line(e)}") from None
    with source:
        try:
            reader = pa.ipc.open_stream(source)
        except pa.ArrowInvalid:
            source.seek(0)
            try:
                reader = pa.ipc.open_file(source)
            except pa.ArrowInvalid as e:
                raise DataError(path, f"not a readable Arrow file, stream or file format ({_first_line(e)})") from None
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)
            return
        yield from reader


def open_dataset(path: str):
    """The `datasets.Dataset` of a hf: name or a save_to_disk folder (see `open_hub_cached`,
    `open_saved`)."""
    return open_hub_cached(path) if path.startswith(HF_PREFIX) else open_saved(path)


def _batches(path: str) -> Iterator[pa.RecordBatch | pa.Table]:
    if path.lower().endswith(ARROW_SUFFIX) and not Path(path).is_dir():
        return _arrow_batches(path)
    return open_dataset(path).with_format("arrow").iter(batch_size=BATCH_ROWS)


def iter_dataset_rows(path: str | Path) -> Iterator[RawRow]:
    """The rows of a dataset input as `RawRow`s located by 0-based index, a batch at a time.

    Raises:
        DataError: the input cannot be opened (see `open_hub_cached`, `open_saved`, and an
            .arrow file that is not Arrow).
    """
    path, index = str(path), 0
    for batch in _batches(path):
        for value in batch.to_pylist():
            yield RawRow({"index": index}, readable(json.dumps(value, ensure_ascii=False, default=str)), value)
            index += 1


def data_files(path: str | Path) -> list[str]:
    """The files that hold a dataset input's rows, in order (what its content digest covers):
    the .arrow file itself, or the Arrow files behind a hf: name or a save_to_disk folder.

    Raises:
        DataError: the input cannot be opened.
    """
    path = str(path)
    if path.lower().endswith(ARROW_SUFFIX) and not Path(path).is_dir():
        return [path]
    return [f["filename"] for f in open_dataset(path).cache_files]


def check_dataset_input(path: str | Path) -> None:
    """Open a dataset input once, so that one not cached or not a dataset fails before any work.

    Raises:
        DataError: as `iter_dataset_rows`.
    """
    path = str(path)
    if path.lower().endswith(ARROW_SUFFIX) and not Path(path).is_dir():
        if not Path(path).is_file():
            raise FileNotFoundError(path)
        next(iter(_arrow_batches(path)), None)
    else:
        open_dataset(path)
