"""Layer kinds of issue 22 through the whole flow: the two models of tests/user_models.py that hold every
kind on both sides of the cut (every_exact_kind, normalizations), trained briefly on CIFAR-10 at 16x16,
built for a board with C-sim on real test images and, for the fixed front-end's arithmetic, `make rtl`
(da4ml circuits simulated with Icarus and synthesized with Yosys).

    python benchmarks/layer_kinds.py [--data-dir ../shared/datasets] [--images 1000] [--no-rtl]

Writes results/layer_kinds/layer_kinds.json and layer_kinds.md: per layer kind, the half it runs in, the
C-sim mismatched elements of that half (and against the user's own model), the fit check's LUT estimate
of its front-end layers and, where `make rtl` measures them (layers with weights), the estimate of the
rtl cost model against Yosys's count (relative figures, not Vivado sign-off)."""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def kind_label(node, model):
    """What a planned node is, in the issue's words."""
    if node.op in ("conv", "dense", "depthwise") and not node.attrs.get("scale_of"):
        layer = model.get_layer(node.source)
        q = getattr(layer, "kernel_quantizer_internal", None) or getattr(layer, "depthwise_quantizer_internal", None)
        name = type(q).__name__ if q is not None else ""
        alpha = (q.get_config().get("alpha") if hasattr(q, "get_config") else None)
        if name in ("binary", "ternary"):
            return f"{name} weights ({node.keras_class})"
        if alpha == "auto_po2":
            return f"auto_po2 weights ({node.keras_class})"
        return node.keras_class
    if node.attrs.get("scale_of") == "alpha":
        return "auto_po2 power-of-two scale"
    if node.op in ("depthwise", "scaleshift") and node.attrs.get("scale_of") == "batchnorm":
        if node.name.endswith("_alpha"):
            return "BatchNormalization merged into a power-of-two scale"
        return f"{node.keras_class} scale-and-shift"
    if node.op == "leaky":
        return f"LeakyReLU alpha {node.attrs['alpha']:.4g}"
    return node.keras_class


def run(model, split, args, out_root, board):
    from fixyfpga.config import CsimConfig, ExperimentConfig, InputConfig
    from fixyfpga.flow import BuildConfig, build
    from fixyfpga.ir import load_graph
    path = out_root / f"{model.name}.h5"
    model.save(path)
    exp = ExperimentConfig(name=model.name, model=str(path), split=split,
                           csim=CsimConfig(inputs=args.images, dataset="cifar10_jpeg"),
                           input=InputConfig(type="ufixed<8,0>", resize="resize"))
    cfg = BuildConfig(experiment=exp, board=board, out_root=out_root / "hls_projects", data_dir=Path(args.data_dir),
                      synthesis=False, rtl=not args.no_rtl, rtl_jobs=args.jobs)
    t0 = time.perf_counter()
    rep, project = build(cfg, log=lambda msg: print(f"[{model.name}] {msg.strip()}", flush=True))
    seconds = time.perf_counter() - t0
    design = json.loads((project / "design.json").read_text())
    rtl = {}
    rtl_path = project / "rtl" / "rtl_report.json"
    if rtl_path.is_file():
        rtl = {rec["name"]: rec for rec in json.loads(rtl_path.read_text())["layers"]}
    fit = {row["name"]: row for row in rep["fit"]["layers"]}
    graph = load_graph(model)
    labels = {n.name: kind_label(n, model) for n in graph.nodes}
    halves = {"frontend": rep["frontend"]["csim"], "engine": rep["backend"]["csim"]}
    rows = {}
    for half in ("frontend", "engine"):
        for layer in design[half]["layers"]:
            label = labels.get(layer["name"])
            if label is None or label == "InputLayer":
                continue
            row = rows.setdefault(label, {"kind": label, "model": model.name, "halves": [], "layers": [],
                                          "fit_lut_frontend": 0, "rtl_estimate_lut": 0, "rtl_measured_lut": 0,
                                          "rtl_layers": []})
            if half not in row["halves"]:
                row["halves"].append(half)
            row["layers"].append(layer["name"])
            row[f"csim_{half}_mismatched"] = halves[half]["mismatched_elements"]
            if half == "frontend":
                row["fit_lut_frontend"] += int(fit.get(layer["name"], {}).get("lut", 0))
                rec = rtl.get(layer["name"])
                if rec is not None:
                    row["rtl_estimate_lut"] += int(rec["estimate"]["lut"])
                    row["rtl_measured_lut"] += int(rec["fixed"]["lut"])
                    row["rtl_layers"].append(layer["name"])
    summary = {"model": model.name, "split": rep["split"], "seconds": round(seconds, 1),
               "csim": {"frontend": rep["frontend"]["csim"], "engine": rep["backend"]["csim"],
                        "pipeline": rep["pipeline"]["csim"]},
               "exact": rep["model_graph"]["exact"], "original_model": rep["model_graph"]["original_model"],
               "fit_total": rep["fit"]["total"], "rtl_totals": (rep.get("rtl") or {}).get("totals")}
    return list(rows.values()), summary


def markdown(rows, summaries):
    lines = ["| layer kind | model | front-end / engine | C-sim mismatched (front-end, engine) | fit LUTs (front-end) "
             "| rtl estimate vs Yosys LUTs (front-end) |", "|---|---|---|---|---|---|"]
    for r in rows:
        mism = ", ".join(str(r.get(f"csim_{h}_mismatched", "-")) for h in ("frontend", "engine"))
        rtl = (f"{r['rtl_estimate_lut']} vs {r['rtl_measured_lut']}" if r["rtl_layers"] else
               "not measured (no weights)" if r["fit_lut_frontend"] else "-")
        lines.append(f"| {r['kind']} | {r['model']} | {' + '.join(r['halves'])} | {mism} | {r['fit_lut_frontend']} "
                     f"| {rtl} |")
    lines.append("")
    for s in summaries:
        orig = s["original_model"]
        vs_user = ("bit-exact to your model" if s["exact"] else
                   f"against the user's model: {orig['mismatched_elements']} of {orig['elements']} logits differ, "
                   f"max error {orig['max_error']:.3g}, top-1 agreement {orig['top1_agreement']:.2%}")
        lines.append(f"- `{s['model']}` (cut after `{s['split']}`): pipeline {s['csim']['pipeline']['mismatched_elements']} "
                     f"mismatched elements on {s['csim']['pipeline']['inputs']} images; {vs_user}; built in "
                     f"{s['seconds']:.0f} s")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    ap.add_argument("--images", type=int, default=1000, help="C-sim test images per build")
    ap.add_argument("--train-images", type=int, default=2000)
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--jobs", type=int, default=2, help="Yosys runs in parallel")
    ap.add_argument("--no-rtl", action="store_true", help="skip make rtl (C-sim and the fit estimate only)")
    ap.add_argument("--out", default=str(REPO / "results" / "layer_kinds"))
    args = ap.parse_args()
    from fixyfpga.boards import load_board
    from fixyfpga.data import ImageMap, load_dataset, to_model_input
    from user_models import every_exact_kind, normalizations
    ds = load_dataset("cifar10_jpeg", args.data_dir)
    x = to_model_input(ds.x_train[:args.train_images], (16, 16, 3), ImageMap(resize="resize"))
    y = ds.y_train[:args.train_images]
    board = load_board(args.board)
    rows, summaries = [], []
    with tempfile.TemporaryDirectory(prefix="fixyfpga-kinds-") as tmp:
        for builder, split in ((every_exact_kind, "cut"), (normalizations, "f_out")):
            r, s = run(builder(x, y), split, args, Path(tmp), board)
            rows += r
            summaries.append(s)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"command": "python benchmarks/layer_kinds.py " + " ".join(sys.argv[1:]), "board": args.board,
              "images": args.images, "kinds": rows, "builds": summaries,
              "note": "rtl figures: Yosys synth_xilinx LUT counts of the fixed layers' da4ml datapaths (relative "
                      "figures, not Vivado sign-off); fit LUTs: the fit check's estimate incl. line buffers and FIFOs"}
    (out / "layer_kinds.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "layer_kinds.md").write_text(markdown(rows, summaries))
    print(markdown(rows, summaries))


if __name__ == "__main__":
    main()
