"""Reading moulin activation stores (docs/hdf5-layout.md) with h5py and numpy only; torch is optional.

A standalone module, importable without moulin's C++ extension (add ``python/`` to ``sys.path`` or copy the file)::

    import moulin_store
    f = moulin_store.open_store("acts.h5")
    rows = moulin_store.rows_of_documents(f, moulin_store.documents_where(f, "triggered", True), last_only=True)
    x = moulin_store.read(f, "blocks.12.hook_resid_post", rows)        # numpy float32 [rows, d_model]
    t = moulin_store.to_torch(f, "blocks.12.hook_resid_post", rows)    # torch, stored dtype (bfloat16 too)

Only rows and documents the store has committed are returned: a killed dump may hold more, unfinished.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Sequence, Union

import h5py
import numpy as np

Rows = Union[slice, Sequence[int], np.ndarray, None]


def open_store(path) -> h5py.File:
    """Opens a store read-only. SWMR mode also opens dumps that were killed or are still being written."""
    f = h5py.File(path, "r", swmr=True)
    if f.attrs.get("format") != "moulin-activations":
        f.close()
        raise ValueError(f"{path} is not a moulin activation store (no format = 'moulin-activations' attribute)")
    return f


def committed(f: h5py.File) -> Dict[str, int]:
    """The commit record: tokens, documents, text_bytes, label_bytes, run_bytes, complete."""
    return {name: int(value) for name, value in zip(f["committed"].attrs["fields"], f["committed"][:])}


def _row_indices(f: h5py.File, rows: Rows) -> np.ndarray:
    n = committed(f)["tokens"]
    if rows is None:
        return np.arange(n)
    if isinstance(rows, slice):
        return np.arange(n)[rows]
    indices = np.asarray(rows, dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise IndexError(f"rows must be in [0, {n}), the committed rows")
    return indices


def _raw(f: h5py.File, hook: str, rows: Rows) -> np.ndarray:
    """Stored values of `rows` (any order, repeats allowed), reading each distinct row once."""
    if hook not in list(f.attrs["hooks"]):
        raise KeyError(f"{hook} is not stored here; stored hooks: {', '.join(f.attrs['hooks'])}")
    dataset = f[hook]
    indices = _row_indices(f, rows)
    if indices.size == 0:
        return np.empty((0,) + dataset.shape[1:], dtype=dataset.dtype)
    unique, inverse = np.unique(indices, return_inverse=True)
    if unique[-1] - unique[0] + 1 == unique.size:  # one run: a plain slice is fastest
        values = dataset[int(unique[0]) : int(unique[-1]) + 1]
    else:
        values = dataset[unique]  # h5py wants increasing indices
    return values[inverse]


def read(f: h5py.File, hook: str, rows: Rows = None) -> np.ndarray:
    """Activations of `hook` for `rows` (all committed rows by default) as float32 numpy."""
    values = _raw(f, hook, rows)
    if f[hook].attrs["dtype"] == "bfloat16":
        return (values.astype(np.uint32) << 16).view(np.float32)
    return values.astype(np.float32)


def to_torch(f: h5py.File, hook: str, rows: Rows = None):
    """Activations of `hook` for `rows` as a torch tensor in the stored dtype (float32, float16 or bfloat16)."""
    import torch

    values = np.ascontiguousarray(_raw(f, hook, rows))
    if f[hook].attrs["dtype"] == "bfloat16":
        return torch.from_numpy(values.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(values)


def _bytes(f: h5py.File, name: str, start: int, size: int) -> bytes:
    return bytes(f[name][start : start + size])


def document(f: h5py.File, index: int) -> Dict[str, Any]:
    """A committed document: text, labels, first_token (its first row), stored (rows), length (tokens), line."""
    if not 0 <= index < committed(f)["documents"]:
        raise IndexError(f"document {index} is not committed (documents: {committed(f)['documents']})")
    field = lambda name: int(f[f"documents/{name}"][index])  # noqa: E731
    return {
        "index": index,
        "text": _bytes(f, "documents/text", field("text_offset"), field("text_length")).decode("utf-8"),
        "labels": json.loads(_bytes(f, "documents/labels", field("label_offset"), field("label_length"))),
        "first_token": field("first_token"),
        "stored": field("stored"),
        "length": field("length"),
        "line": field("line"),
    }


def documents_where(f: h5py.File, key: str, value: Any) -> List[int]:
    """Committed documents whose label `key` equals `value` (True, 1 and "1" are different, as in JSON)."""
    n = committed(f)["documents"]
    blob = bytes(f["documents/labels"][: committed(f)["label_bytes"]])
    offsets, lengths = f["documents/label_offset"][:n], f["documents/label_length"][:n]
    matches = []
    for i in range(n):
        labels = json.loads(blob[offsets[i] : offsets[i] + lengths[i]])
        if key in labels and labels[key] == value and type(labels[key]) is type(value):
            matches.append(i)
    return matches


def rows_of_documents(f: h5py.File, documents: Sequence[int], last_only: bool = False) -> np.ndarray:
    """The committed rows of `documents`, document by document; with `last_only`, each one's last stored row."""
    n = committed(f)["tokens"]
    first, stored = f["documents/first_token"], f["documents/stored"]
    rows = []
    for index in documents:
        start = int(first[index])
        end = min(start + int(stored[index]), n)
        if last_only:
            rows.extend([end - 1] if end > start else [])
        else:
            rows.extend(range(start, end))
    return np.asarray(rows, dtype=np.int64)
