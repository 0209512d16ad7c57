"""The HLS component configuration file of the Vitis Unified flow (`hls_config.cfg`, Vitis 2023.2 and later).

Layout (cases 01 and 06 of the corpus, Vitis 2024.1 and 2025.2; AMD UG1399 "HLS Config File Commands"): global
keys (`part=`) before the first section, then `[hls]` with one `key=value` per line; keys may repeat
(`syn.file`, `tb.file`, `syn.directive.*`), order matters for repeated keys, `#` starts a comment. The tool
echoes every line it applies as `Applying [config] ini '<key>=<value>' from <file>(<line>)` (amd.hls_log), so
line numbers are part of what a user reads back. Case 01 ends without a trailing newline; both forms read.
"""

from pathlib import Path

from fixyfpga.amd.common import read_text
from fixyfpga.errors import FixyError

FIX = "write it again with the kit (`make hls`)"


def read_hls_config(path):
    """{"global": [(key, value)], "sections": {name: [(key, value)]}, "lines": {(section, key, value): line}}.
    Repeated keys keep their order."""
    text = read_text(path, "HLS config file", FIX)
    out = {"global": [], "sections": {}, "lines": {}}
    section = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            out["sections"].setdefault(section, [])
            continue
        if "=" not in line:
            raise FixyError(f"{path}({number}): '{line}' is neither a [section] nor a key=value line; {FIX}")
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        (out["global"] if section is None else out["sections"][section]).append((key, value))
        out["lines"][(section, key, value)] = number
    return out


def values(config, key, section="hls"):
    """Every value of `key` (in order) in `section` (None: the global part)."""
    items = config["global"] if section is None else config["sections"].get(section, [])
    return [v for k, v in items if k == key]


def value(config, key, section="hls", default=None):
    """The first value of `key`, or `default`."""
    found = values(config, key, section)
    return found[0] if found else default


def hls_config_text(global_items, hls_items):
    """The text of an hls_config.cfg: `global_items` ([(key, value)]: part=...) before `[hls]`, then
    `hls_items` in order (repeat a key for several values)."""
    lines = [f"{k}={v}" for k, v in global_items]
    lines += ["", "[hls]"] + [f"{k}={v}" for k, v in hls_items]
    return "\n".join(lines) + "\n"


def write_hls_config(path, global_items, hls_items):
    Path(path).write_text(hls_config_text(global_items, hls_items))
    return Path(path)
