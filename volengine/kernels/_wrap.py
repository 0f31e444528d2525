"""Argument canonicalisation shared by the public kernel wrappers.

Each compiled kernel sees only flat, C-contiguous, read-only 1-D arrays of one dtype, so that it compiles
exactly once. Broadcasting is done without materialising scalars: an argument of size 1 is passed as a
length-1 array with step 0, an argument that already has the full broadcast shape is passed as a flat view
with step 1, and only a genuinely partial broadcast (say shape (n, 1) against (1, m)) is materialised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from volengine.errors import KernelInputError


def readonly(a: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    view = a.view()
    view.flags.writeable = False
    return view


def flat_args(
    values: Sequence[Any],
    names: Sequence[str],
    dtypes: Sequence[Any],
) -> tuple[tuple[int, ...], list[np.ndarray[Any, Any]], np.ndarray[Any, Any]]:
    """Broadcast ``values`` by numpy rules into flat kernel arguments.

    Returns the broadcast shape, one flat read-only array per value (length 1 or the full size) and an
    int64 array of steps (0 for a broadcast scalar, 1 otherwise).
    """
    arrays = []
    for value, name, dtype in zip(values, names, dtypes, strict=True):
        try:
            arr = np.asarray(value)
            if dtype is np.int8 and arr.dtype == np.bool_:
                arr = arr.view(np.int8)  # zero-copy: numpy stores bools as 0/1 bytes
            elif dtype is np.int8 and arr.dtype != np.int8:
                if arr.dtype.kind not in "biu":
                    msg = f"argument '{name}' must be boolean or integer (1 = call, 0 = put); got dtype {arr.dtype}"
                    raise KernelInputError(msg)
                arr = (arr != 0).astype(np.int8)
            else:
                arr = arr.astype(dtype, copy=False)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, KernelInputError):
                raise
            msg = f"argument '{name}' cannot be converted to {np.dtype(dtype).name}: {exc}"
            raise KernelInputError(msg) from exc
        arrays.append(arr)
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError as exc:
        shapes = ", ".join(f"{n}{a.shape}" for n, a in zip(names, arrays, strict=True))
        msg = f"arguments do not broadcast together: {shapes}"
        raise KernelInputError(msg) from exc
    size = int(np.prod(shape, dtype=np.int64))
    flat = []
    steps = np.empty(len(arrays), dtype=np.int64)
    for k, arr in enumerate(arrays):
        if arr.size == 1:
            flat.append(readonly(np.ascontiguousarray(arr.reshape(1))))
            steps[k] = 0
        elif arr.shape == shape:
            flat.append(readonly(np.ascontiguousarray(arr).reshape(-1)))
            steps[k] = 1
        else:
            flat.append(readonly(np.ascontiguousarray(np.broadcast_to(arr, shape)).reshape(-1)))
            steps[k] = 1
    if size == 0:
        steps[:] = 0
    return shape, flat, steps


def out_buffer(out: Any, shape: tuple[int, ...], name: str = "out") -> np.ndarray[Any, Any]:
    """Validate a caller-supplied output buffer, or allocate one."""
    if out is None:
        return np.empty(shape, dtype=np.float64)
    if not isinstance(out, np.ndarray):
        msg = f"'{name}' must be a numpy.ndarray of float64; got {type(out).__name__}"
        raise KernelInputError(msg)
    if out.dtype != np.float64 or not out.flags.c_contiguous or not out.flags.writeable:
        msg = (
            f"'{name}' must be a writable C-contiguous float64 array; got dtype {out.dtype}, "
            f"contiguous={out.flags.c_contiguous}, writable={out.flags.writeable}"
        )
        raise KernelInputError(msg)
    if out.shape != shape:
        msg = f"'{name}' must have shape {shape} (the broadcast shape of the inputs); got {out.shape}"
        raise KernelInputError(msg)
    return out


def finish(out: np.ndarray[Any, Any], *, given: bool) -> Any:
    """Return a 0-d result as a numpy float scalar (like a ufunc) unless the caller supplied ``out``."""
    if out.ndim == 0 and not given:
        return out[()]
    return out


def segment_offsets(segment: Any, n: int) -> np.ndarray[Any, Any]:
    """Int64 offsets (length n_segments + 1) of the contiguous blocks of equal ids in ``segment``.

    Parameters
    ----------
    segment : array_like of int of shape (n,) or None
        One id per row; rows of one id must form one contiguous block. ``None`` means one segment.
    n : int
        Number of rows.

    Returns
    -------
    ndarray of int64
        ``offsets[0] = 0``, ``offsets[-1] = n``, segment ``s`` is rows ``offsets[s]:offsets[s + 1]``.

    Raises
    ------
    KernelInputError
        If ``segment`` is not a 1-D integer array of length ``n``, or an id reappears after a different id.
    """
    if segment is None:
        return np.array([0, n], dtype=np.int64)
    seg = np.asarray(segment)
    if seg.ndim != 1 or seg.shape[0] != n:
        msg = f"argument 'segment' must be 1-D with one id per row (length {n}); got shape {seg.shape}"
        raise KernelInputError(msg)
    if seg.dtype.kind not in "iu":
        msg = f"argument 'segment' must be an integer array; got dtype {seg.dtype}"
        raise KernelInputError(msg)
    if n == 0:
        return np.array([0, 0], dtype=np.int64)
    starts = np.flatnonzero(seg[1:] != seg[:-1]) + 1
    offsets = np.concatenate(([0], starts, [n])).astype(np.int64)
    block_ids = seg[offsets[:-1]]
    _, first = np.unique(block_ids, return_index=True)
    if first.size != block_ids.size:
        is_repeat = np.ones(block_ids.size, dtype=bool)
        is_repeat[first] = False
        j = int(np.flatnonzero(is_repeat)[0])
        p = int(np.flatnonzero(block_ids[:j] == block_ids[j])[0])
        msg = (
            f"argument 'segment' must hold each id in one contiguous block; id {block_ids[j]} reappears at "
            f"row {offsets[j]} after a different id (its first block is rows "
            f"{offsets[p]}..{offsets[p + 1] - 1})"
        )
        raise KernelInputError(msg)
    return offsets


def int_arg(value: Any, name: str, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (bools refused), else a KernelInputError naming ``name``."""
    import operator

    try:
        if isinstance(value, bool | np.bool_):
            raise TypeError
        out = operator.index(value)
    except TypeError:
        msg = f"argument '{name}' must be an integer >= {minimum}; got {value!r}"
        raise KernelInputError(msg) from None
    if out < minimum:
        msg = f"argument '{name}' must be >= {minimum}; got {out}"
        raise KernelInputError(msg)
    return out


def array_1d(value: Any, name: str, dtype: Any = np.float64) -> np.ndarray[Any, Any]:
    """``value`` as a read-only, C-contiguous 1-D array of ``dtype``, else a KernelInputError naming ``name``."""
    try:
        arr = np.require(np.asarray(value), dtype, "C")
    except (TypeError, ValueError) as exc:
        msg = f"argument '{name}' cannot be converted to {np.dtype(dtype).name}: {exc}"
        raise KernelInputError(msg) from exc
    if arr.ndim != 1:
        msg = f"argument '{name}' must be 1-D; got shape {arr.shape}"
        raise KernelInputError(msg)
    return readonly(arr)
