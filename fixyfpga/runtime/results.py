"""Results of the board side (predictions, throughput, energy) written as JSON: one writer for all."""

import json
from pathlib import Path

import numpy as np


def save_json(obj, path):
    """Write a result (dataclass or dict) as JSON; returns the path."""
    data = obj.to_dict() if hasattr(obj, "to_dict") else obj
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=_json_default))
    return path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
