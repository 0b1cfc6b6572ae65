"""Reading back what an offline wandb run wrote: the records of its `run-ID.wandb` file.

wandb 0.31 no longer ships a Python reader for that file (its Go core writes it), so this is
a small one, from the layout: a 7-byte header (":W&B", 0xBEE1, version 0), then 32 KiB
blocks of chunks, each a 7-byte head (CRC-32 4 bytes, length 2, kind 1: 1 whole, 2 first,
3 middle, 4 last) and its bytes; a block's tail shorter than a head is padding. Each whole
record is a `wandb_internal_pb2.Record`.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

BLOCK, HEAD = 32 * 1024, 7
WHOLE, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _payloads(data: bytes) -> list[bytes]:
    """The records' bytes, chunks joined, in file order."""
    assert data[:4] == b":W&B", "not a wandb run file"
    out, part, pos = [], b"", HEAD
    while pos + HEAD <= len(data):
        room = BLOCK - pos % BLOCK
        if room < HEAD:  # padding at a block's end
            pos += room
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + HEAD])
        chunk = data[pos + HEAD:pos + HEAD + length]
        pos += HEAD + length
        if kind == WHOLE:
            out.append(chunk)
        elif kind == FIRST:
            part = chunk
        elif kind == MIDDLE:
            part += chunk
        elif kind == LAST:
            out.append(part + chunk)
        elif kind == 0 and length == 0:  # zero-filled tail of the last block
            break
    return out


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def read_run(path: str | Path) -> dict:
    """{"config": {key: value}, "history": [{key: value}], "summary": {key: value},
    "files": [path]} of one offline run file (values decoded from their JSON)."""
    from wandb.proto import wandb_internal_pb2 as pb

    run = {"config": {}, "history": [], "summary": {}, "files": []}
    for data in _payloads(Path(path).read_bytes()):
        rec = pb.Record()
        rec.ParseFromString(data)
        kind = rec.WhichOneof("record_type")
        if kind == "config":
            run["config"].update({_key(i): json.loads(i.value_json) for i in rec.config.update})
        elif kind == "run":  # the config known when the run record is written travels inside it
            run["config"].update({_key(i): json.loads(i.value_json) for i in rec.run.config.update})
        elif kind == "history":
            run["history"].append({_key(i): json.loads(i.value_json) for i in rec.history.item})
        elif kind == "summary":
            run["summary"].update({_key(i): json.loads(i.value_json) for i in rec.summary.update})
        elif kind == "files":
            run["files"] += [f.path for f in rec.files.files]
    return run
