"""Area metrics: what "the same area" means when FixyNN is compared with a programmable engine.

A design uses four kinds of resources (LUT, FF, DSP, BRAM36); "same area" needs a rule that adds them up,
and the comparison's ratio depends on the rule. Each metric below has a definition and a source, and
compare.py reports the ratio under every one of them (summary.json `ratios_by_area`):

- `silicon_area` (the headline: "same silicon area", as the FixyNN paper means it): the die area the design
  occupies, in logic elements (BLE: one 6-input LUT and its two flip-flops, with its share of routing),
      silicon = max(LUT, FF / 2) + w_dsp x DSP + w_bram x BRAM36
  The logic term counts BLEs: a 7-series or UltraScale+ slice holds 4 LUTs and 8 flip-flops (AMD UG474 /
  UG574), VTR's BLE one LUT and two flip-flops, so a design occupies as many BLEs as its LUTs, or half its
  flip-flops when those are more. The block weights are tile areas (routing included) published with VTR's
  flagship architecture (k6_frac_N10_frac_chain_mem32K_40nm.xml, VTR 7/8), which derives them from the
  Stratix III block areas of Wong, Betz and Rose ("Comparing FPGA vs. Custom CMOS and the Impact on
  Processor Microarchitecture", FPGA 2011), scaled to 40 nm, in minimum-width transistor areas (MWTA):
      logic tile (10 BLEs)                      84,375 MWTA   -> one BLE 8,437.5
      DSP, half a Stratix III DSP block
        (four 18x18 multipliers and their adders) 518,000 MWTA -> one 18x18 multiplier 129,500 = 15.3 BLE
      32 Kb RAM                                   604,000 MWTA -> per Kb 18,875; a 36 Kb BRAM36 = 80.5 BLE
  Mapping an AMD DSP slice onto it is the kit's step, stated: a DSP48E1 (25x18 multiplier, 7-series) is
  25x18/18x18 = 1.39 multipliers of that block, 21.3 BLE; a DSP48E2 (27x18, UltraScale+) 1.5, 23.0 BLE.
  The published figures are an Altera-architecture's, not AMD's (AMD publishes no tile areas); the DSP
  mapping is the least certain number, so `dsp_weight_sensitivity` gives the ratio with it halved and
  doubled up to four times.
- `chip_share`: LUT/available + DSP/available + BRAM36/available on this part: each resource weighted by its
  scarcity on the board, not by silicon (on the XC7Z020 a DSP counts as 242 LUTs). Source: the part's
  resources (boards/<board>.yaml, from AMD's product tables).
- `dsp_count`: the same number of DSP slices (LUT, FF, BRAM left free).
- `lut_count`: the same number of LUTs (the baseline given FixyNN's LUT budget; DSP, FF, BRAM left free).
"""

from fixyfpga.errors import FixyError

VTR_ARCH_URL = ("https://github.com/verilog-to-routing/vtr-verilog-to-routing/blob/"
                "0393730cf7f73a8fb7b091115a1dece24d860184/vtr_flow/arch/timing/k6_frac_N10_frac_chain_mem32K_40nm.xml")
WONG_BETZ_ROSE = ("H. Wong, V. Betz and J. Rose, 'Comparing FPGA vs. Custom CMOS and the Impact on Processor "
                  "Microarchitecture', FPGA 2011 (Stratix III block areas)")
# Tile areas with routing, minimum-width transistor areas at 40 nm (the VTR architecture file's comments).
LOGIC_TILE_MWTA = 84375.0            # one logic tile: 10 BLEs (fracturable 6-LUT + 2 FFs each)
BLES_PER_TILE = 10
DSP_HALF_BLOCK_MWTA = 518000.0       # half a Stratix III DSP block: four 18x18 multipliers
MULTS_18X18_PER_HALF_BLOCK = 4
RAM_32KB_MWTA = 604000.0             # one 32 Kb RAM
BLE_MWTA = LOGIC_TILE_MWTA / BLES_PER_TILE
MULT18_BLE = DSP_HALF_BLOCK_MWTA / MULTS_18X18_PER_HALF_BLOCK / BLE_MWTA
BRAM36_BLE = RAM_32KB_MWTA / 32 * 36 / BLE_MWTA
# The multiplier of one AMD DSP slice per family, in 18x18 multipliers (partial-product array bits).
DSP_SLICES = {"xc7": ("DSP48E1", 25 * 18 / (18 * 18)), "xcup": ("DSP48E2", 27 * 18 / (18 * 18))}
FF_PER_BLE = 2
DSP_SENSITIVITY = (0.5, 1.0, 2.0, 4.0)

SILICON_SOURCE = (f"tile areas with routing from VTR's flagship architecture k6_frac_N10_frac_chain_mem32K_40nm.xml "
                  f"({VTR_ARCH_URL}), derived there from {WONG_BETZ_ROSE}: logic tile of 10 BLEs 84,375 MWTA, half "
                  f"a DSP block (four 18x18 multipliers) 518,000 MWTA, 32 Kb RAM 604,000 MWTA; a DSP48E1/DSP48E2 "
                  f"slice as 25x18/27x18 over 18x18 multipliers and a BRAM36 as 36/32 of the RAM: the kit's mapping; "
                  f"slices of 4 LUTs and 8 flip-flops: AMD UG474 (7 series CLB) and UG574 (UltraScale CLB)")
METRICS = ("silicon_area", "chip_share", "dsp_count", "lut_count")
HEADLINE = "silicon_area"


def silicon_weights(family):
    """{"lut", "ff_per_ble", "dsp", "bram36", "dsp_slice"}: BLE-equivalents of one resource on `family`."""
    if family not in DSP_SLICES:
        raise FixyError(f"no silicon-area weights for FPGA family '{family}' (known: {', '.join(DSP_SLICES)})")
    slice_name, mults = DSP_SLICES[family]
    return {"lut": 1.0, "ff_per_ble": FF_PER_BLE, "dsp": round(MULT18_BLE * mults, 2),
            "bram36": round(BRAM36_BLE, 2), "dsp_slice": slice_name}


def silicon_area(res, family, dsp_scale=1.0):
    """Silicon area of a design in BLE-equivalents (one 6-LUT and two flip-flops with their routing)."""
    w = silicon_weights(family)
    return (max(float(res["lut"]), float(res["ff"]) / w["ff_per_ble"]) + w["dsp"] * dsp_scale * float(res["dsp"])
            + w["bram36"] * float(res["bram36"]))


def chip_share(res, board):
    """LUT, DSP and BRAM36 utilization of the part, summed (each resource weighted by its scarcity)."""
    avail = board.resources
    return res["lut"] / avail.lut + res["dsp"] / avail.dsp + res["bram36"] / avail.bram36


def measure(res, board, metric):
    """The design's area under `metric` (one of METRICS)."""
    if metric == "silicon_area":
        return silicon_area(res, board.family)
    if metric == "chip_share":
        return chip_share(res, board)
    if metric == "dsp_count":
        return float(res["dsp"])
    if metric == "lut_count":
        return float(res["lut"])
    raise FixyError(f"unknown area metric '{metric}'; one of {', '.join(METRICS)}")


def describe(metric, board):
    """{"definition", "source", "unit"} of a metric on `board` (written into summary.json)."""
    if metric == "silicon_area":
        w = silicon_weights(board.family)
        return {"definition": f"max(LUT, FF/2) + {w['dsp']} x DSP + {w['bram36']} x BRAM36, in BLE-equivalents (one "
                              f"6-LUT and two flip-flops with their routing; {w['dsp_slice']} slices on {board.part})",
                "source": SILICON_SOURCE, "unit": "BLE-equivalents", "weights": w}
    if metric == "chip_share":
        r = board.resources
        return {"definition": f"LUT/{r.lut:,} + DSP/{r.dsp:,} + BRAM36/{r.bram36:,} (utilization of {board.part}, summed: "
                              f"a DSP weighs {r.lut / r.dsp:.0f} LUTs, by scarcity, not silicon)",
                "source": f"the part's resources (boards/{board.name}.yaml)", "unit": "share of the part"}
    if metric == "dsp_count":
        return {"definition": "the same number of DSP slices (LUT, FF and BRAM36 not matched)",
                "source": "resource counts (the same estimator for both variants)", "unit": "DSP slices"}
    if metric == "lut_count":
        return {"definition": "the same number of LUTs (DSP, FF and BRAM36 not matched)",
                "source": "resource counts (the same estimator for both variants)", "unit": "LUTs"}
    raise FixyError(f"unknown area metric '{metric}'; one of {', '.join(METRICS)}")
