"""Strict loading of YAML mappings into dataclasses: an unknown or missing key is an error naming it."""

import dataclasses
import difflib
from pathlib import Path

import yaml

from fixyfpga.errors import FixyError


def read_yaml(path):
    path = Path(path)
    if not path.is_file():
        raise FixyError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise FixyError(f"{path}: not valid YAML ({exc.__class__.__name__}: {str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise FixyError(f"{path}: expected a mapping at the top level")
    return data


def build(cls, data, where):
    """Make dataclass `cls` from mapping `data`; nested dataclass fields are built recursively.

    `where` names the file and section for messages, e.g. "configs/default.yaml: backend".
    """
    if not isinstance(data, dict):
        raise FixyError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; allowed keys: {', '.join(fields)}"
            raise FixyError(f"{where}: unknown key '{key}'{hint}")
    kwargs = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise FixyError(f"{where}: missing required key '{name}'")
            continue
        value = data[name]
        sub = _dataclass_type(f.type)
        if sub is not None and value is not None:
            value = build(sub, value, f"{where}: {name}")
        kwargs[name] = value
    return cls(**kwargs)


def _dataclass_type(annotation):
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return annotation
    return None
