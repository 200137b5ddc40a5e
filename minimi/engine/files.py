"""Files written atomically, and strict JSON.

Every file minimi writes goes to a temporary name in the same folder and is then
renamed over the target: a reader sees the old file or the new one, never half
of one, and a failed write leaves nothing behind.

JSON is strict (RFC 8259): NaN and ±inf, which Python's json would write as the
invalid tokens NaN and Infinity, become null.
"""
import json
import math
import os

import numpy as np


def write_atomic(path, write, mode="w"):
    """Call write(file) on a temporary file next to `path`, then rename it to `path`.
    On any error the temporary file is removed and the error propagates."""
    folder = os.path.dirname(os.fspath(path)) or "."
    os.makedirs(folder, exist_ok=True)
    tmp = f"{os.fspath(path)}.tmp.{os.getpid()}"
    try:
        with open(tmp, mode) as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def write_text(path, text):
    """Write a text file atomically."""
    return write_atomic(path, lambda f: f.write(text))


def strict(obj):
    """A copy of obj that strict JSON can hold: non-finite floats become None,
    NumPy numbers and arrays become Python ones, tuples become lists."""
    if isinstance(obj, dict):
        return {str(k): strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return strict(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def dumps(obj, **kwargs):
    """Strict JSON text of obj (see strict)."""
    return json.dumps(strict(obj), allow_nan=False, **kwargs)


def write_json(path, obj):
    """Write strict JSON atomically."""
    return write_text(path, dumps(obj))
