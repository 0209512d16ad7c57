"""Fit the power model's coefficients (study/energy.py) to public Vivado `report_power` reports.

The data are the figures of `power_sources.json` (energy.SOURCES_FILE): for each report committed to a
public GitHub repository, its URL at the commit read, part, Vivado version, fabric clock, junction
temperature, Device Static (W) and the rows of its "1.1 On-Chip Components" table (power, used count).
Every report there is vectorless with Vivado's defaults (no SAIF, no setting file: UG835
set_switching_activity, default toggle rate 12.5 % on unspecified primary inputs, static probability 0.5,
propagated through the netlist).

How a report becomes energies per resource (uW per MHz of signal rate, energy.py's e_r):

    e_r = P_r / (N_r x f_clock[MHz] x 0.125)

so that energy.estimate_power at its default 12.5 % toggle gives back what report_power gave for that
design at Vivado's default activity. P_r is the power charged to resource r:

- lut: LUT as Logic + LUT as Shift Register + LUT as Distributed RAM + CARRY4/CARRY8 + F7/F8 Muxes
  (carries and wide muxes are charged to the LUTs: the model counts no other slice logic),
  plus the LUTs' share of Signals; N_lut = LUTs used as logic, shift register and distributed RAM;
- ff: Register + Clocks (the clock network's load is mostly register clock pins) + the registers' share of
  Signals; N_ff = Register used;
- dsp: DSPs; bram36: Block RAM, N counted in 36 Kb blocks as the report does (an 18 Kb block is 0.5).
- Signals (net power) is split between LUTs and registers in proportion to their counts (each drives
  about one net); nets driven by DSPs and block RAMs are not told apart by the report and go with it.
- A row printed "<0.001" (below report_power's 1 mW display resolution) counts as 0 W. A report gives a
  value for a resource only when at least MIN_CHARGED_W is charged to it (a 2 mW reading is within 25 %
  of its 3-decimal rounding), and only when one fabric clock drives the logic (`clock_mhz` given).
- Clocks power does not scale with data activity; charging it to registers and scaling it with the toggle
  rate is exact only at the default 12.5 %.

Per family (xc7: 7-series, 28 nm; xcup: UltraScale+, 16 nm), the value is the median over designs of
the per-design median over its reports (rows sharing `design` are one design), rounded to 3 significant
digits. Device static power per part prefix is the median of Device Static (W) over that part's reports
(every report, whether or not it gives energies; only parts energy.family_of names). Static power
depends on junction temperature and grade; the reports' junction temperatures are kept in the data (25 C
ambient, the report's default thermal model).
"""

import json
import re
import statistics
from pathlib import Path

from fixyfpga.errors import FixyError
from fixyfpga.study.energy import SOURCES_FILE, TOGGLE_RATE, family_of

RESOURCES = ("lut", "ff", "dsp", "bram36")
FAMILIES = ("xc7", "xcup")
MIN_CHARGED_W = 0.002
LUT_COUNTED = ("LUT as Logic", "LUT as Shift Register", "LUT as Distributed RAM")
LUT_CHARGED = LUT_COUNTED + ("CARRY4", "CARRY8", "F7/F8 Muxes")
BELOW_RESOLUTION = "<0.001"
PS_ROWS = ("PS7", "PS8")           # the processing system's row in '1.1 On-Chip Components'
_URL = re.compile(r"^https://github\.com/([^/]+/[^/]+)/blob/([0-9a-f]{40})/(.+)$")
_PART_KEY = re.compile(r"^(xc7[a-z]{1,2}\d+t?|xczu\d+[a-z]{2}|xck\d+|xc[kv]u\d+p)")


def part_key(part):
    """The part prefix the static-power table is keyed by: 'xc7z020clg400-1' -> 'xc7z020'."""
    m = _PART_KEY.match(part.lower())
    if not m:
        raise FixyError(f"power sources: cannot tell the device of part '{part}'")
    return m.group(1)


def watts(value):
    """A report_power figure: a number, or '<0.001' (below its display resolution) counted as 0 W."""
    if value == BELOW_RESOLUTION:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise FixyError(f"power sources: '{value}' is not a report_power figure (a number or '<0.001')")
    return float(value)


def load_sources(path=None):
    """The data file, checked: every report cites its URL (repo, commit, path) and has the fields the fit
    reads."""
    path = Path(path) if path else SOURCES_FILE
    if not path.is_file():
        raise FixyError(f"power sources file {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise FixyError(f"{path} is not valid JSON ({e})") from None
    reports = data.get("reports")
    if not reports:
        raise FixyError(f"{path}: no 'reports'")
    seen = set()
    for r in reports:
        rid = r.get("id")
        if not rid or rid in seen:
            raise FixyError(f"{path}: every report needs a unique 'id' (got {rid!r})")
        seen.add(rid)
        m = _URL.match(r.get("url", ""))
        if not m or m.groups() != (r.get("repo"), r.get("commit"), r.get("path")):
            raise FixyError(f"{path}: report '{rid}' must cite https://github.com/<repo>/blob/<commit>/<path> "
                            f"matching its repo, commit and path")
        if r.get("family") not in FAMILIES:
            raise FixyError(f"{path}: report '{rid}' has family {r.get('family')!r}; expected one of {FAMILIES}")
        part_key(r.get("part", ""))
        watts(r.get("device_static_w"))
        if "ps_w" in r:
            watts(r["ps_w"])
            if r.get("ps_row") not in PS_ROWS:
                raise FixyError(f"{path}: report '{rid}' gives ps_w without ps_row (one of {PS_ROWS})")
        if r.get("use_for_energies"):
            if not isinstance(r.get("clock_mhz"), (int, float)) or r["clock_mhz"] <= 0:
                raise FixyError(f"{path}: report '{rid}' gives energies but has no single fabric clock_mhz")
            for name, row in r.get("components", {}).items():
                if not (isinstance(row, list) and len(row) == 2):
                    raise FixyError(f"{path}: report '{rid}' component '{name}' must be [power_w, used]")
                watts(row[0])
    return data


def report_energies(report, toggle=TOGGLE_RATE):
    """{resource: uW per MHz of signal rate, or None when the report does not resolve it} for one report."""
    comps = report["components"]
    power = {name: watts(row[0]) for name, row in comps.items()}
    used = {name: float(row[1]) for name, row in comps.items()}
    n_lut = sum(used.get(k, 0.0) for k in LUT_COUNTED)
    n_ff = used.get("Register", 0.0)
    signals = power.get("Signals", 0.0)
    lut_share = n_lut / (n_lut + n_ff) if n_lut + n_ff else 0.0
    charged = {
        "lut": (sum(power.get(k, 0.0) for k in LUT_CHARGED) + signals * lut_share, n_lut),
        "ff": (power.get("Register", 0.0) + power.get("Clocks", 0.0) + signals * (1.0 - lut_share), n_ff),
        "dsp": (power.get("DSPs", 0.0), used.get("DSPs", 0.0)),
        "bram36": (power.get("Block RAM", 0.0), used.get("Block RAM", 0.0)),
    }
    scale = report["clock_mhz"] * toggle
    return {r: (w / (n * scale) * 1e6 if n > 0 and w >= MIN_CHARGED_W else None) for r, (w, n) in charged.items()}


def _has_family(part):
    """Whether energy.family_of names the part (a Virtex UltraScale+ report gives energies, not a static
    power the model could look up)."""
    try:
        family_of(part)
    except FixyError:
        return False
    return True


def round_sig(x, digits=3):
    return float(f"{x:.{digits}g}")


def fit(data=None, toggle=TOGGLE_RATE):
    """Per family: {"uw_per_mhz": {r: value}, "static_w": {part prefix: W}, "provenance": counts,
    "spread": {r: [min, max] over designs}} (energy.COEFFICIENTS' keys), plus "per_report" (every report's
    energies, unrounded) for printing."""
    data = data if data is not None else load_sources()
    out = {}
    for fam in FAMILIES:
        reports = [r for r in data["reports"] if r["family"] == fam]
        per_report = {r["id"]: report_energies(r, toggle) for r in reports if r.get("use_for_energies")}
        uw, spread, n_res = {}, {}, {}
        for res in RESOURCES:
            by_design = {}
            for r in reports:
                v = per_report.get(r["id"], {}).get(res)
                if v is not None:
                    by_design.setdefault(r.get("design", r["id"]), []).append(v)
            designs = [statistics.median(vs) for vs in by_design.values()]
            n_res[res] = {"reports": sum(len(vs) for vs in by_design.values()), "designs": len(designs)}
            if designs:
                uw[res] = round_sig(statistics.median(designs))
                spread[res] = [round_sig(min(designs)), round_sig(max(designs))]
        static_by_part = {}
        for r in reports:
            if _has_family(r["part"]):
                static_by_part.setdefault(part_key(r["part"]), []).append(watts(r["device_static_w"]))
        energy_reports = [r for r in reports if r.get("use_for_energies")]
        out[fam] = {
            "uw_per_mhz": uw,
            "static_w": {k: round_sig(statistics.median(v)) for k, v in sorted(static_by_part.items())},
            "provenance": {
                "n_reports": len(reports),
                "n_energy_reports": len(energy_reports),
                "n_energy_designs": len({r.get("design", r["id"]) for r in energy_reports}),
                "uw_per_mhz_reports": n_res,
                "static_w_reports": {k: len(v) for k, v in sorted(static_by_part.items())},
            },
            "per_report": per_report,
            "spread": spread,
        }
    return out


def ps_power(data=None):
    """The processing system's power from the reports that give `ps_w` (their PS7/PS8 row): {part prefix:
    {"w": median, "reports": [ids]}} and per family {"w", "reports"} (the median over the family's reports),
    for board-level energy (study.board_energy)."""
    data = data if data is not None else load_sources()
    by_part, by_family = {}, {}
    for r in data["reports"]:
        if "ps_w" not in r:
            continue
        by_part.setdefault(part_key(r["part"]), []).append(r)
        by_family.setdefault(r["family"], []).append(r)

    def entry(reports):
        return {"w": round_sig(statistics.median(watts(r["ps_w"]) for r in reports)),
                "reports": [r["id"] for r in reports], "rows": sorted({r["ps_row"] for r in reports})}
    return {"parts": {k: entry(v) for k, v in sorted(by_part.items())},
            "families": {k: entry(v) for k, v in sorted(by_family.items())}}
