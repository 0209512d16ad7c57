"""Power and energy per inference of a variant, from the best source available:

1. `board`: a `measure_energy` result from the board (runtime/power.py's EnergyResult JSON): measured;
2. `vivado`: Vivado's `report_power` text report of the routed design (fixyfpga.amd.power.parse_report_power;
   `make hls` writes it with Vivado and keeps it in build_report.json's implementation.power);
3. `estimate`: the power model below, labelled ESTIMATE everywhere it appears.

The power model (ESTIMATE)
    P = P_static(part) + sum over r in {LUT, FF, DSP, BRAM36} of  N_r x e_r x f_MHz x toggle
    energy per inference = P / throughput

Where each number comes from (also written into summary.json's `power_model`, see model_sources()):

- toggle rate 12.5 %: PUBLISHED. AMD UG440 (Xilinx Power Estimator User Guide), "Using the Logic Sheet"
  (https://docs.amd.com/r/2020.2-English/ug440-xilinx-power-estimator/Using-the-Logic-Sheet): the default
  toggle rate 12.5 % (and average fanout 3) is an average extracted from a suite of customer designs and
  recommended when no better estimate exists; Signal Rate (Mtr/s) = Clock Frequency (MHz) x Toggle Rate,
  which this model multiplies by an energy per transition. The same rate is applied to DSPs and BRAMs;
  UG440's "Using the DSP Sheet" says random data toggles DSP inputs at about 38 %, scaled by the clock
  enable rate: estimate_power(toggle=...) models that instead.
- what "static" means: PUBLISHED definitions. UG907 (Vivado Power Analysis and Optimization), "Power
  Terminology": device static power is measured with a blank bitstream and depends on process, voltage
  and temperature; UG440 "Design Static Power": block RAM is power-gated (adds design static power only
  when used) while logic and DSP are always powered (their leakage is in the device static power).
  This model charges each part's device static power to both variants alike and no design static power
  for BRAM (a simplification, stated here).
- per-resource energies e_r (uW per MHz of signal rate) and each part's device static power: DERIVED
  from public Vivado `report_power` reports (Vivado's own output, committed to GitHub), vectorless with
  Vivado's defaults (no SAIF). power_sources.json holds the figures read from each report with its URL
  at the commit read; power_fit.py states the method and refits them (benchmarks/power_coefficients.py
  prints the table; tests check that the refit gives COEFFICIENTS back, so the table cannot drift from
  its sources). In short: e_r = P_r / (N_r x f_clock x 0.125), with P_r the report's "On-Chip
  Components" power of the resource (carries and F7/F8 muxes charged to LUTs, Clocks to registers,
  Signals split between LUTs and registers by count), the median over designs per family; static power
  per part = the median Device Static (W) of that part's reports (junction 26-56 C, see the data). So
  the model at its default 12.5 % toggle reproduces what report_power says at Vivado's default activity
  for a typical design, not for yours: report_power's vectorless figures vary several-fold between
  designs (the spread is printed by the benchmark and written into `power_model`). Values without a
  report (each family's `default` static power, used for a part with no report) remain the KIT'S
  ASSUMPTIONS and say so. Pass a coefficients JSON (`--power-coefficients`, same keys) with XPE's or
  your own report_power's figures for your part.

Because static power is paid whether or not the design is busy, a faster design spends less static
energy per inference; the model assumes the design runs back to back at its modelled throughput.
"""

import json
from pathlib import Path

from fixyfpga.errors import FixyError
from fixyfpga.amd.power import parse_report_power

ESTIMATE_LABEL = "ESTIMATE (power model, fixyfpga.study.energy)"
TOGGLE_RATE = 0.125
SOURCES_FILE = Path(__file__).with_name("power_sources.json")
SOURCES_REL = "fixyfpga/study/power_sources.json"
TOGGLE_SOURCE = ("AMD UG440 (Xilinx Power Estimator User Guide), 'Using the Logic Sheet': default toggle rate 12.5% "
                 "(average over a suite of customer designs), Signal Rate (Mtr/s) = Clock (MHz) x Toggle Rate; "
                 "https://docs.amd.com/r/2020.2-English/ug440-xilinx-power-estimator/Using-the-Logic-Sheet")
ASSUMED = "kit assumption (no public report_power report of such a part was found)"
STATIC_DEFINITION = ("AMD UG907 'Power Terminology' (device static = blank bitstream; process, voltage, temperature); "
                     "UG440 'Design Static Power' (BRAM power-gated, logic and DSP always powered)")
DSP_TOGGLE_NOTE = ("AMD UG440 'Using the DSP Sheet': random data toggles DSP inputs at ~38%, scaled by the clock "
                   "enable rate; the model applies the logic default (12.5%) to every resource unless told otherwise")
COEFFICIENTS_SUMMARY = ("per-resource energies and part static power derived from public Vivado report_power "
                        "reports (fixyfpga/study/power_sources.json; a typical design at Vivado's default activity)")
SOURCES_NOTE = ("vectorless report_power figures vary several-fold between designs (see power_model spread); "
                "a typical design's energies, not yours: run report_power on your implemented design")


def _derived(n_reports, n_designs=None):
    designs = f" ({n_designs} designs)" if n_designs is not None else ""
    return (f"derived from {n_reports} public Vivado report_power reports{designs}, "
            f"fixyfpga/study/power_sources.json (method: fixyfpga/study/power_fit.py)")


_PROVENANCE = {
    "xc7": {"n_reports": 27, "n_energy_reports": 21, "n_energy_designs": 21,
            "uw_per_mhz_reports": {"lut": {"reports": 18, "designs": 18}, "ff": {"reports": 21, "designs": 21},
                                   "dsp": {"reports": 5, "designs": 5}, "bram36": {"reports": 13, "designs": 13}},
            "static_w_reports": {"xc7a100t": 2, "xc7a35t": 1, "xc7vx485t": 1, "xc7z010": 3, "xc7z020": 19,
                                 "xc7z100": 1}},
    "xcup": {"n_reports": 11, "n_energy_reports": 8, "n_energy_designs": 7,
             "uw_per_mhz_reports": {"lut": {"reports": 7, "designs": 6}, "ff": {"reports": 8, "designs": 7},
                                    "dsp": {"reports": 4, "designs": 3}, "bram36": {"reports": 6, "designs": 5}},
             "static_w_reports": {"xck26": 2, "xczu3eg": 4, "xczu48dr": 1, "xczu7ev": 2, "xczu9eg": 1}},
}


def _entry(family, uw_per_mhz, static_w, default_static_w, spread):
    prov = _PROVENANCE[family]
    n_static = sum(prov["static_w_reports"].values())
    return {"uw_per_mhz": uw_per_mhz, "static_w": {**static_w, "default": default_static_w},
            "source": _derived(prov["n_energy_reports"], prov["n_energy_designs"]),
            "static_source": (_derived(n_static) + " (their Device Static (W)); 'default', for a part with no "
                              "report: " + ASSUMED),
            "provenance": prov, "spread": spread}


# Energy per transition of one used resource (microwatts per MHz of signal rate) and device static power
# (W) per part prefix, keyed by FPGA family as boards name them. Fitted by power_fit.fit() to
# power_sources.json (tests/test_study.py checks that the refit equals this table); `provenance` counts
# the reports behind each value, `spread` is [min, max] over designs; `default` has no report (ASSUMED).
COEFFICIENTS = {
    "xc7": _entry("xc7", {"lut": 0.326, "ff": 0.545, "dsp": 42.7, "bram36": 96.0},
        {"xc7a100t": 0.101, "xc7a35t": 0.073, "xc7vx485t": 0.244, "xc7z010": 0.116, "xc7z020": 0.146,
         "xc7z100": 0.236}, 0.15,
        {"lut": [0.061, 1.31], "ff": [0.2, 1.12], "dsp": [20.0, 80.0], "bram36": [14.8, 320.0]}),
    "xcup": _entry("xcup", {"lut": 0.526, "ff": 0.396, "dsp": 40.2, "bram36": 44.1},
        {"xck26": 0.3, "xczu3eg": 0.318, "xczu48dr": 1.29, "xczu7ev": 0.722, "xczu9eg": 0.759}, 0.5,
        {"lut": [0.21, 0.723], "ff": [0.203, 0.582], "dsp": [25.5, 47.6], "bram36": [34.8, 55.0]}),
}


def model_sources(coefficients=None, toggle=TOGGLE_RATE):
    """Every number of the power model with where it comes from: 'published' (a cited document), derived
    from public report_power reports (power_sources.json), 'kit assumption', or 'user file'. Written into
    summary.json so a reader sees what the ESTIMATE rests on."""
    coeffs = coefficients or COEFFICIENTS
    custom = coeffs is not COEFFICIENTS

    def energies(entry):
        if custom:
            return {"values": entry["uw_per_mhz"], "status": "user file", "source": entry["source"]}
        prov = entry["provenance"]
        return {"values": entry["uw_per_mhz"], "status": _derived(prov["n_energy_reports"], prov["n_energy_designs"]),
                "source": entry["source"], "data": SOURCES_REL, "reports": prov["uw_per_mhz_reports"],
                "spread_min_max": entry["spread"], "note": SOURCES_NOTE}

    def statics(entry):
        if custom:
            return {"values": entry["static_w"], "status": "user file",
                    "source": entry.get("static_source", entry["source"])}
        counts = entry["provenance"]["static_w_reports"]
        return {"values": entry["static_w"], "source": entry["static_source"], "data": SOURCES_REL,
                "status": {k: (_derived(counts[k]) if k in counts else ASSUMED) for k in entry["static_w"]}}

    return {
        "label": ESTIMATE_LABEL,
        "equation": "P = P_static(part) + sum_r N_r x e_r[uW/MHz] x f_clock[MHz] x toggle",
        "toggle_rate": {"value": toggle, "status": "published" if toggle == TOGGLE_RATE else "user",
                        "source": TOGGLE_SOURCE, "dsp_note": DSP_TOGGLE_NOTE},
        "uw_per_mhz": {fam: energies(entry) for fam, entry in coeffs.items()},
        "static_w": {fam: statics(entry) for fam, entry in coeffs.items()},
        "static_definition": STATIC_DEFINITION,
    }


def family_of(part):
    part = part.lower()
    if part.startswith("xc7"):
        return "xc7"
    if part.startswith(("xczu", "xck")):
        return "xcup"
    raise FixyError(f"the power model has no coefficients for part '{part}'; pass --power-coefficients with "
                    f"XPE figures for it")


def load_coefficients(path=None):
    """The coefficient table: the kit's, or a JSON file with the same shape (per family)."""
    if path is None:
        return COEFFICIENTS
    path = Path(path)
    if not path.is_file():
        raise FixyError(f"power coefficients file {path} does not exist")
    data = json.loads(path.read_text())
    for fam, entry in data.items():
        if not {"static_w", "uw_per_mhz", "source"} <= set(entry):
            raise FixyError(f"{path}: family '{fam}' needs static_w, uw_per_mhz and source")
    return data


def estimate_power(resources, part, clock_mhz, toggle=TOGGLE_RATE, coefficients=None):
    """{"value", "static_w", "dynamic_w", "breakdown_w", "source": "estimate", "label", ...} in watts."""
    coeffs = (coefficients or COEFFICIENTS)[family_of(part)]
    statics = coeffs["static_w"]
    key = next((k for k in statics if k != "default" and part.lower().startswith(k)), "default")
    static = float(statics[key])
    breakdown = {r: float(resources[r]) * coeffs["uw_per_mhz"][r] * 1e-6 * clock_mhz * toggle
                 for r in ("lut", "ff", "dsp", "bram36")}
    dynamic = sum(breakdown.values())
    return {"value": static + dynamic, "static_w": static, "dynamic_w": dynamic,
            "breakdown_w": breakdown, "toggle_rate": toggle, "clock_mhz": clock_mhz, "source": "estimate",
            "label": ESTIMATE_LABEL, "coefficients": {"uw_per_mhz": coeffs["uw_per_mhz"], "static_w": static,
                                                      "source": coeffs["source"], "toggle_source": TOGGLE_SOURCE}}


def vivado_power(parsed):
    """The power entry of a variant from a parsed `report_power` (fixyfpga.amd.power.parse_report_power, as
    stored in build_report.json's implementation.power).

    `value` is the on-chip total without the processing system's row (PS7/PS8): device static power plus the
    programmable logic's dynamic power, the same scope as the power model's estimate (the PS runs the same
    software in both variants, and a vectorless PS figure is mostly its DDR interface). `total_w` and `ps_w`
    keep the whole report's figures."""
    activity = (f"activity from {parsed['activity_file']}" if parsed.get("activity_file") else
                "vectorless, Vivado's default toggle rate on primary inputs")
    return {"value": parsed["pl_w"], "source": "vivado",
            "label": f"Vivado report_power of the routed design ({activity}; confidence "
                     f"{parsed.get('confidence') or 'not stated'}); on-chip total without the processing system",
            "total_w": parsed["total_w"], "ps_w": parsed.get("ps_w"), "static_w": parsed.get("static_w"),
            "dynamic_w": parsed.get("dynamic_w"), "confidence": parsed.get("confidence"),
            "cells": parsed.get("cells") or None, "report": parsed["report"]}


def report_power(path):
    """vivado_power() of a report_power text report given by path (`--vivado-power`)."""
    return vivado_power(parse_report_power(path))


def board_power(result_json):
    """Active power and energy per inference from a saved `measure_energy` result (EnergyResult JSON)."""
    path = Path(result_json)
    if not path.is_file():
        raise FixyError(f"{path} does not exist; save measure_energy(..., json_path=...) on the board first")
    data = json.loads(path.read_text())
    if data.get("simulated"):
        raise FixyError(f"{path} is a simulated-board result, not a measurement; measure on the board")
    out = {"value": float(data["active_w"]), "idle_w": float(data["idle_w"]), "source": "board",
           "label": data.get("label", "measured"), "energy_per_inference_j": float(data["energy_per_inference_j"]),
           "result": str(path)}
    # the window and count give the end-to-end board-level figure (study.board_energy.measured_board_level)
    for key, cast in (("window_s", float), ("n_inferences", int), ("pl_energy_per_inference_j", float),
                      ("pl_active_w", float), ("batch_size", int)):
        if data.get(key) is not None:
            out[key] = cast(data[key])
    return out


def energy_per_inference_uj(power, throughput_ips):
    """Energy per inference in microjoules. A board measurement gives it directly (active - idle energy);
    otherwise power / throughput."""
    if power.get("source") == "board" and "energy_per_inference_j" in power:
        return power["energy_per_inference_j"] * 1e6
    if throughput_ips <= 0:
        raise FixyError("throughput must be positive to compute energy per inference")
    return power["value"] / throughput_ips * 1e6
