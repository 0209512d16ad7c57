"""Refit the power model's coefficients from the public Vivado report_power reports and print them.

    .venv/bin/python benchmarks/power_coefficients.py [--sources FILE] [--json results/power_coefficients.json]

Reads fixyfpga/study/power_sources.json (or --sources), refits with fixyfpga.study.power_fit (method in
its docstring) and prints, per family: every report's energies (uW per MHz of signal rate at the 12.5 %
default toggle), the fitted medians with their spread over designs, the device static power per part, and
whether the refit equals the table in fixyfpga/study/energy.py (COEFFICIENTS). Writes nothing unless
--json is given.
"""

import argparse
import json
import sys
from pathlib import Path

from fixyfpga.errors import FixyError
from fixyfpga.study import energy, power_fit


def _fmt(v):
    return "-" if v is None else f"{v:.3g}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", help="power sources JSON (default: fixyfpga/study/power_sources.json)")
    ap.add_argument("--json", help="write the refit table here (e.g. results/power_coefficients.json)")
    args = ap.parse_args(argv)
    try:
        data = power_fit.load_sources(args.sources)
    except FixyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    fitted = power_fit.fit(data)
    by_id = {r["id"]: r for r in data["reports"]}
    same = True
    for fam, f in fitted.items():
        prov = f["provenance"]
        print(f"\n== {fam}: {prov['n_reports']} reports, {prov['n_energy_reports']} give energies "
              f"({prov['n_energy_designs']} designs) ==")
        print(f"{'report':28s} {'part':22s} {'MHz':>7s} " + " ".join(f"{r:>7s}" for r in power_fit.RESOURCES))
        for rid, e in f["per_report"].items():
            r = by_id[rid]
            print(f"{rid:28s} {r['part']:22s} {r['clock_mhz']:7.1f} "
                  + " ".join(f"{_fmt(e[res]):>7s}" for res in power_fit.RESOURCES))
        old = energy.COEFFICIENTS.get(fam, {})
        print(f"\n{'uW/MHz':8s} {'fit':>8s} {'min':>8s} {'max':>8s} {'reports':>8s} {'designs':>8s} {'energy.py':>10s}")
        for res in power_fit.RESOURCES:
            v = f["uw_per_mhz"].get(res)
            lo, hi = f["spread"].get(res, (None, None))
            n = prov["uw_per_mhz_reports"][res]
            table = old.get("uw_per_mhz", {}).get(res)
            same &= v == table
            print(f"{res:8s} {_fmt(v):>8s} {_fmt(lo):>8s} {_fmt(hi):>8s} {n['reports']:8d} {n['designs']:8d} "
                  f"{_fmt(table):>10s}")
        print(f"\n{'static W':10s} {'fit':>7s} {'reports':>8s} {'Tj (C)':>12s} {'energy.py':>10s}")
        for part, w in f["static_w"].items():
            tjs = [r["junction_c"] for r in data["reports"]
                   if r["family"] == fam and power_fit.part_key(r["part"]) == part]
            table = old.get("static_w", {}).get(part)
            same &= w == table
            print(f"{part:10s} {w:7.3f} {prov['static_w_reports'][part]:8d} {min(tjs):5.1f}-{max(tjs):5.1f} "
                  f"{_fmt(table):>10s}")
        default = old.get("static_w", {}).get("default")
        print(f"{'default':10s} {_fmt(default):>7s}  (no report: kit assumption)")
        same &= f["provenance"] == old.get("provenance") and f["spread"] == old.get("spread")
    print(f"\nrefit {'equals' if same else 'DIFFERS FROM'} energy.COEFFICIENTS")
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({fam: {k: v for k, v in f.items()} for fam, f in fitted.items()}, indent=1))
        print(f"wrote {out}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
