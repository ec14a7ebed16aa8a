"""Fast medians of ink images: exactly numpy's values, quicker on ink's many equal values."""

from __future__ import annotations

import numpy as np


def median(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """np.median along `axis` of values without NaNs: the same values, bit for bit, but
    by sorting, which is much quicker than numpy's selection on ink's many equal values."""
    ordered = np.sort(values, axis=axis)
    half = ordered.shape[axis] // 2
    upper = np.take(ordered, half, axis=axis)
    if ordered.shape[axis] % 2:
        return upper
    return (np.take(ordered, half - 1, axis=axis) + upper) / 2


def running_median(values: np.ndarray, window: int) -> np.ndarray:
    """A running median: medians of blocks of half a window, interpolated between them."""
    step = max(1, window // 2)
    starts = np.arange(0, len(values), step)
    size = step + 2 * (step // 2)
    # Blocks clear of both ends are all the same size: their medians in one call.
    inner = (starts >= step // 2) & (starts - step // 2 + size <= len(values))
    medians = np.empty(len(starts))
    if inner.any():
        blocks = np.lib.stride_tricks.sliding_window_view(values, size)
        medians[inner] = median(blocks[starts[inner] - step // 2], axis=1)
    for i in np.nonzero(~inner)[0]:
        a = int(starts[i])
        medians[i] = median(values[max(0, a - step // 2):a + step + step // 2])
    return np.interp(np.arange(len(values)), starts + step / 2, medians)
