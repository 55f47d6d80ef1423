"""Turn metric dictionaries into strict JSON values (no NaN, no numpy scalars, ISO dates)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime

import numpy as np


def to_jsonable(value):
    """Recursively convert; NaN and infinities become ``None`` because strict JSON has none."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.datetime64):
        return str(value.astype("datetime64[D]"))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
