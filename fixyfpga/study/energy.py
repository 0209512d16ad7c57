"""Power and energy per inference of a variant, from the best source available:

1. `board`: a `measure_energy` result from the board (runtime/power.py's EnergyResult JSON): measured;
2. `vivado`: Vivado's `report_power` text report of the implemented design (parse_report_power);
3. `estimate`: the power model below, labelled ESTIMATE everywhere it appears.

The power model (ESTIMATE)
    P = P_static(part) + sum over r in {LUT, FF, DSP, BRAM36} of  N_r x e_r x f_MHz x toggle
    energy per inference = P / throughput

- toggle: 12.5 %, the Xilinx Power Estimator's default toggle rate ("The default value of 12.5% means
  one transition every eight cycles"; AMD UG440, Xilinx Power Estimator User Guide, Logic sheet,
  https://docs.xilinx.com/r/en-US/ug440-xilinx-power-estimator/Using-the-Logic-Sheet), and XPE's
  signal rate (Mtr/s) = clock (MHz) x toggle rate, which this model multiplies by an energy per transition;
- e_r, P_static: per family (xc7 = Zynq-7000 28 nm HPL at 1.0 V, xcup = Zynq UltraScale+ 16 nm at
  0.85 V). NO per-resource figure from a published document was found for the kit (XPE holds them in
  its spreadsheet, not in text): the values below are the kit's ASSUMPTIONS, of the order XPE and
  report_power give for such designs, and every result computed with them says so. Pass a
  coefficients JSON (`--power-coefficients`, same keys) with XPE's figures for your part to replace them.

Because static power is paid whether or not the design is busy, a faster design spends less static
energy per inference; the model assumes the design runs back to back at its modelled throughput.
"""

import json
import re
from pathlib import Path

from fixyfpga.errors import FixyError

ESTIMATE_LABEL = "ESTIMATE (power model, fixyfpga.study.energy)"
TOGGLE_RATE = 0.125
TOGGLE_SOURCE = ("AMD UG440 (Xilinx Power Estimator User Guide), Logic sheet: default toggle rate 12.5%, "
                 "signal rate = clock x toggle rate")
ASSUMED = "kit assumption (no published per-resource figure found); replace with XPE/report_power figures"

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


def parse_report_power(path):
    """Total, dynamic and device-static power (W) from a Vivado `report_power` text report (its summary
    table rows 'Total On-Chip Power (W)', 'Dynamic (W)', 'Device Static (W)'; UG907)."""
    path = Path(path)
    if not path.is_file():
        raise FixyError(f"{path} does not exist; run report_power -file {path.name} after implementation")
    text = path.read_text(errors="replace")
    found = {}
    for key, label in (("value", "Total On-Chip Power (W)"), ("dynamic_w", "Dynamic (W)"),
                       ("static_w", "Device Static (W)")):
        m = re.search(r"^\|\s*" + re.escape(label) + r"\s*\|\s*([0-9.]+)", text, re.M)
        if m:
            found[key] = float(m.group(1))
    if "value" not in found:
        raise FixyError(f"{path}: no 'Total On-Chip Power (W)' row; is it a report_power text report?")
    return {**found, "source": "vivado", "label": "Vivado report_power (vectorless unless a SAIF was given)",
            "report": str(path)}


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
