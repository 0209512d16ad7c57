"""Name -> builder registry for the zoo."""

import inspect

from fixyfpga.errors import FixyError

ZOO = {}


def register(name):
    def wrap(fn):
        if name in ZOO:
            raise ValueError(f"zoo model '{name}' registered twice")
        ZOO[name] = fn
        return fn
    return wrap


def list_models():
    return sorted(ZOO)


def build_model(name, **params):
    """Build zoo model `name`; unknown names and parameters are errors that list what exists."""
    if name not in ZOO:
        raise FixyError(f"unknown zoo model '{name}'; available: {', '.join(list_models())}")
    fn = ZOO[name]
    accepted = inspect.signature(fn).parameters
    for key in params:
        if key not in accepted:
            raise FixyError(f"zoo model '{name}' has no parameter '{key}'; parameters: {', '.join(accepted)}")
    return fn(**params)
