"""Power and energy per inference of a variant, from the best source available:

1. `board`: a `measure_energy` result from the board (runtime/power.py's EnergyResult JSON): measured;
2. `vivado`: Vivado's `report_power` text report of the routed design (fixyfpga.vivado.reports.parse_report_power;
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
- per-resource energies e_r (uW per MHz of signal rate) and the static power of each part: the KIT'S
  ASSUMPTIONS. No public text found for the kit gives them: XPE holds its per-resource models inside the
  spreadsheet, and the quiescent-current tables of the data sheets (DS187 Zynq-7000, DS925 Zynq
  UltraScale+) were not in any source the kit's authors could search. They are of the order XPE and
  report_power give for such designs; every result computed with them says so (label, `power_model`).
  Pass a coefficients JSON (`--power-coefficients`, same keys) with XPE's figures for your part.

Because static power is paid whether or not the design is busy, a faster design spends less static
energy per inference; the model assumes the design runs back to back at its modelled throughput.
"""

import json
from pathlib import Path

from fixyfpga.errors import FixyError
from fixyfpga.vivado.reports import parse_report_power

ESTIMATE_LABEL = "ESTIMATE (power model, fixyfpga.study.energy)"
TOGGLE_RATE = 0.125
TOGGLE_SOURCE = ("AMD UG440 (Xilinx Power Estimator User Guide), 'Using the Logic Sheet': default toggle rate 12.5% "
                 "(average over a suite of customer designs), Signal Rate (Mtr/s) = Clock (MHz) x Toggle Rate; "
                 "https://docs.amd.com/r/2020.2-English/ug440-xilinx-power-estimator/Using-the-Logic-Sheet")
ASSUMED = "kit assumption (no published per-resource figure found); replace with XPE/report_power figures"
STATIC_ASSUMED = ("kit assumption (device static power of the part: DS187/DS925 quiescent currents not found in "
                  "a searchable source); definition per UG907 'Power Terminology'")
STATIC_DEFINITION = ("AMD UG907 'Power Terminology' (device static = blank bitstream; process, voltage, temperature); "
                     "UG440 'Design Static Power' (BRAM power-gated, logic and DSP always powered)")
DSP_TOGGLE_NOTE = ("AMD UG440 'Using the DSP Sheet': random data toggles DSP inputs at ~38%, scaled by the clock "
                   "enable rate; the model applies the logic default (12.5%) to every resource unless told otherwise")

# Energy per transition of one used resource (microwatts per MHz of signal rate) and device static power
# (W). Keyed by FPGA family as boards name them (part prefix).
COEFFICIENTS = {
    "xc7": {"static_w": {"xc7z020": 0.12, "default": 0.15},
            "uw_per_mhz": {"lut": 2.4, "ff": 0.4, "dsp": 40.0, "bram36": 120.0},
            "source": ASSUMED},
    "xcup": {"static_w": {"xczu3eg": 0.30, "xck26": 0.40, "xczu7ev": 0.60, "default": 0.5},
             "uw_per_mhz": {"lut": 1.2, "ff": 0.2, "dsp": 20.0, "bram36": 60.0},
             "source": ASSUMED},
}


def model_sources(coefficients=None, toggle=TOGGLE_RATE):
    """Every number of the power model with where it comes from: 'published' (a cited document) or
    'kit assumption'. Written into summary.json so a reader sees what the ESTIMATE rests on."""
    coeffs = coefficients or COEFFICIENTS
    custom = coeffs is not COEFFICIENTS
    return {
        "label": ESTIMATE_LABEL,
        "equation": "P = P_static(part) + sum_r N_r x e_r[uW/MHz] x f_clock[MHz] x toggle",
        "toggle_rate": {"value": toggle, "status": "published" if toggle == TOGGLE_RATE else "user",
                        "source": TOGGLE_SOURCE, "dsp_note": DSP_TOGGLE_NOTE},
        "uw_per_mhz": {fam: {"values": entry["uw_per_mhz"], "status": "user file" if custom else "kit assumption",
                             "source": entry["source"]} for fam, entry in coeffs.items()},
        "static_w": {fam: {"values": entry["static_w"], "status": "user file" if custom else "kit assumption",
                           "source": entry.get("static_source", STATIC_ASSUMED)} for fam, entry in coeffs.items()},
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
    """The power entry of a variant from a parsed `report_power` (fixyfpga.vivado.reports.parse_report_power, as
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
    return {"value": float(data["active_w"]), "idle_w": float(data["idle_w"]), "source": "board",
            "label": data.get("label", "measured"), "energy_per_inference_j": float(data["energy_per_inference_j"]),
            "result": str(path)}


def energy_per_inference_uj(power, throughput_ips):
    """Energy per inference in microjoules. A board measurement gives it directly (active - idle energy);
    otherwise power / throughput."""
    if power.get("source") == "board" and "energy_per_inference_j" in power:
        return power["energy_per_inference_j"] * 1e6
    if throughput_ips <= 0:
        raise FixyError("throughput must be positive to compute energy per inference")
    return power["value"] / throughput_ips * 1e6
