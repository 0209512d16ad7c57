"""The all-programmable baseline as a deployable overlay (issue 12, point 5): the engine-only block
design (same generator as the FixyNN design, a variant switch), its overlay JSON/.hwh address map, its
simulated overlay and task file, and the runtime on a board without a front-end IP (sim backend and the
pynq backend over the fake pynq), bit-exact to the baseline's C-sim and emulator."""

import json

import numpy as np
import pytest

from fixyfpga.boards import load_board
from fixyfpga.errors import FixyError
from fixyfpga.amd.hwh import read_hwh
from fixyfpga.runtime.overlay_spec import parse_overlay, read_overlay
from fixyfpga.vivado import flow
from fixyfpga.vivado.overlay import PS_INFO
from runtime_fixtures import board_copy, install_fake_pynq, overlay_name
from vivado_fixtures import fixed, make_ip_dir, ports_of, tcl_items, tiny_design


def engine_only_design(board, pixel_map=None):
    """tiny_design without its front-end: the engine reads 4x4x8 'pixels' (as the study's baseline)."""
    d = tiny_design(board)
    del d["frontend"]
    d["variant"] = "engine_only"
    d["model"] = "tiny_baseline"
    d["input"] = {"shape": [4, 4, 8], "type": fixed(8, 0, False),
                  "pixel_map": list(range(256)) if pixel_map is None else pixel_map}
    d["interface"] = {"layer": "q_input", "shape": [4, 4, 8], "type": fixed(8, 0, False)}
    return d


def make_engine_only_dir(root, board):
    design_dir = root / board.name / "tiny_baseline"
    make_ip_dir(design_dir / "backend", "fixy_engine")
    (design_dir / "design.json").write_text(json.dumps(engine_only_design(board), indent=1))
    return design_dir


def _intf_nets(calls):
    return {tuple(c["args"]) for c in calls if c["cmd"] == "connect_bd_intf_net"}


@pytest.mark.parametrize("board_name", ["pynq-z2", "zcu104"])
def test_engine_only_vivado_script_and_overlay(board_name, tmp_path, fake_tools):
    board = load_board(board_name)
    ps = PS_INFO[board.ps]
    design_dir = make_engine_only_dir(tmp_path, board)
    result = flow.build_overlay(design_dir, board, hls_tool="vitis_hls", log=lambda _: None)
    calls = fake_tools.calls("vivado")
    # Only the engine IP was synthesized and is on the IP path.
    assert [c["cmd"] for c in fake_tools.calls("vitis_hls") if c["cmd"] == "open_project"] == ["open_project"]
    cells = {c["args"][-1] for c in calls if c["cmd"] == "create_bd_cell"}
    assert cells == {"ps", "rst", "dma", "wdma", "engine", "ctrl_sc", "mem_sc"}          # no front-end
    nets = _intf_nets(calls)
    for a, b in [("dma/M_AXIS_MM2S", "engine/features"), ("engine/scores", "dma/S_AXIS_S2MM"),
                 ("wdma/M_AXIS_MM2S", "engine/weights"), ("dma/M_AXI_MM2S", "mem_sc/S00_AXI"),
                 ("wdma/M_AXI_MM2S", "mem_sc/S02_AXI"), (f"ps/{ps.master}", "ctrl_sc/S00_AXI")]:
        assert (a, b) in nets, f"{a} -> {b} not connected"
    used = {p for net in nets for p in net if p.split("/")[0] == "engine"}
    assert used == {f"engine/{p.name}" for p in ports_of("fixy_engine")}
    assert not any(p.startswith("frontend/") for net in nets for p in net)
    slaves = {b for a, b in nets if a.startswith("ctrl_sc/M")}
    assert slaves == {"dma/S_AXI_LITE", "engine/s_axi_control", "wdma/S_AXI_LITE"}
    clock = [c["args"] for c in fake_tools.calls("vivado", "connect_bd_net") if c["args"][0] == f"ps/{ps.pl_clock}"][0]
    assert "engine/ap_clk" in clock and not any(p.startswith("frontend/") for p in clock)
    dma = [tcl_items(c["args"][1]) for c in fake_tools.calls("vivado", "set_property") if c["args"][0] == "-dict"
           and c["args"][2] == "dma"][0]
    assert dma[dma.index("CONFIG.c_m_axis_mm2s_tdata_width") + 1] == "64"   # the engine's 8-byte beat

    # The address map: the Vivado assignments, the overlay JSON and the .hwh agree; the engine sits where
    # it does in the FixyNN overlay.
    overlay = json.loads(open(result["overlay"]["json"]).read())
    assigned = {c["args"][c["args"].index("-target_address_space") + 2]: (int(c["args"][1], 16), int(c["args"][3], 16))
                for c in fake_tools.calls("vivado", "assign_bd_address") if c["args"][0] == "-offset"}
    assert assigned == {e["segment"]: (e["base"], e["range"]) for e in overlay["address_map"]}
    assert assigned["engine/s_axi_control/Reg"][0] == ps.window_base + 0x20000
    hwh = read_hwh(result["overlay"]["hwh"])
    assert "frontend" not in hwh and hwh["engine"].base == ps.window_base + 0x20000
    assert overlay["variant"] == "engine_only" and "frontend" not in overlay["ips"]
    assert overlay["streams"]["in"]["pixel_map"] == list(range(256))
    spec = read_overlay(result["overlay"]["dir"])
    assert not spec.has_frontend and spec.engine == "engine" and spec.streams.in_image_bytes == 128
    assert spec.streams.in_type == FixedTypeOf(fixed(8, 0, False))


def FixedTypeOf(d):
    from fixyfpga.fixedpoint import FixedType
    return FixedType.from_dict(d)


def test_engine_only_design_errors(tmp_path):
    from fixyfpga.vivado.overlay import plan_overlay
    board = load_board("pynq-z2")
    d = engine_only_design(board)
    del d["input"]["pixel_map"]
    with pytest.raises(FixyError, match="no front-end and no input.pixel_map.*make compare"):
        plan_overlay(d, board, tmp_path)
    d = engine_only_design(board)
    d["interface"]["type"] = fixed(10, 2, False)
    with pytest.raises(FixyError, match="quantize the model's input to 8 bits"):
        plan_overlay(d, board, tmp_path)
    # The runtime refuses an overlay JSON with no front-end and no pixel map.
    from fixyfpga.vivado.overlay import overlay_json
    data = overlay_json(plan_overlay(engine_only_design(board), board, tmp_path))
    parse_overlay(data, tmp_path / "x.json")
    del data["streams"]["in"]["pixel_map"]
    with pytest.raises(FixyError, match="no front-end.*pixel_map"):
        parse_overlay(data, tmp_path / "x.json")


# ------------------------------------------------------------------------- the real baseline, deployed

@pytest.fixture(scope="module")
def deployed_baseline(tmp_path_factory, cifar_test_images):
    """A small model's all-engine baseline: C-sim, then deploy_baseline (TCL, sim overlay, task)."""
    from fixyfpga.emulate import emulate
    from fixyfpga.study import baseline
    from helpers import resize_nearest, small_mobilenet
    board = load_board("pynq-z2")
    model = small_mobilenet(seed=3)
    split = baseline.baseline_split(model)
    plans = baseline.baseline_plans(split)
    sizing = baseline.size_engine(plans, 40, board)
    prj = tmp_path_factory.mktemp("hls") / "pynq-z2" / "small_baseline"
    images = resize_nearest(cifar_test_images, 16)[:64]
    csim = baseline.csim_baseline(split, plans, sizing.reuse_factors, board, prj, images, forms=sizing.forms)
    assert csim["mismatched_elements"] == 0 and csim["mismatched_vs_qkeras"] == 0
    out = baseline.deploy_baseline(prj, split, board, "small", [f"c{i}" for i in range(7)], {"dataset": "none"},
                                   log=lambda _: None)
    lut = baseline.pixel_map(split)
    want = emulate(plans, lut[images].reshape((len(images),) + tuple(plans[0].out_shape))).reshape(len(images), -1)
    return {"project": prj, "images": images, "want": want, "lut": lut, "split": split, **out}


def test_baseline_is_deployed_like_the_fixynn_design(deployed_baseline):
    prj = deployed_baseline["project"]
    design = json.loads((prj / "design.json").read_text())
    assert design["variant"] == "engine_only" and "frontend" not in design
    assert design["input"]["pixel_map"] == deployed_baseline["lut"].tolist()
    assert (prj / "vivado" / "build_vivado.tcl").is_file()
    assert any("vivado -mode batch" in c for c in deployed_baseline["vivado"]["commands"])
    assert any("v++ -c --mode hls" in c for c in deployed_baseline["vivado"]["commands"])
    script = (prj / "vivado" / "build_vivado.tcl").read_text()
    assert "fixy_frontend" not in script and "engine/features" in script
    from fixyfpga.tasks import read_task
    task = read_task(deployed_baseline["task"])
    assert task.signature == design["engine"]["signature"] and task.path.suffix == ".fixytask"


def test_sim_board_predicts_the_baseline_bit_exactly(deployed_baseline):
    from fixyfpga.runtime import FixyOverlay
    images, want = deployed_baseline["images"], deployed_baseline["want"]
    with FixyOverlay(deployed_baseline["sim_overlay"], backend="sim") as ov:
        assert ov.simulated and ov.frontend is None and "engine-only" in repr(ov)
        ov.load_task(deployed_baseline["task"])
        got = ov.predict(images, batch_size=20)
        assert np.array_equal(got.raw, want[:, :7])
        assert np.array_equal(got.top1, np.argmax(want[:, :7], 1))
        tp = ov.throughput_test(n=40, batch_size=20, latency_samples=3)
        assert tp.simulated and tp.images == 40
        energy = ov.measure_energy(images, n=40, batch_size=20, idle_s=0.05, min_samples=5)
        assert energy.simulated and energy.energy_per_inference_j > 0


def test_pynq_backend_runs_an_engine_only_overlay(deployed_baseline, tmp_path, monkeypatch):
    from fixyfpga.runtime import FixyOverlay
    fake = install_fake_pynq(monkeypatch)
    board_dir = board_copy(deployed_baseline["sim_overlay"], tmp_path / "board")
    assert "frontend" not in json.loads((board_dir / f"{overlay_name(board_dir)}.json").read_text())["ips"]
    ov = FixyOverlay(board_dir)
    assert not ov.simulated and ov.frontend is None
    assert "fixyfpga:hls:fixy_frontend:1.0" not in fake.registry
    ov.load_task(deployed_baseline["task"])
    images, want = deployed_baseline["images"], deployed_baseline["want"]
    assert np.array_equal(ov.predict(images[:24], batch_size=10).raw, want[:24, :7])


def test_signed_engine_input_reaches_the_engine_as_twos_complement():
    """A pixel map with negative values (a signed input quantizer): the bytes on the stream are two's
    complement and the simulated engine reads them back as the same integers."""
    from fixyfpga.runtime.overlay_spec import StreamSpec
    from fixyfpga.fixedpoint import FixedType
    lut = tuple(range(-128, 128))
    s = StreamSpec(in_shape=(2,), in_dtype="uint8", in_image_bytes=2, out_elems=1, out_elem_bits=8,
                   out_type=FixedType(8, 0), out_image_bytes=4, pixel_map=lut, in_type=FixedType(8, 0, True))
    sent = s.to_stream(np.array([[0, 255]], np.uint8))
    assert sent.tolist() == [[128, 127]]
    from fixyfpga.runtime.sim import SimPipeline
    pipe = SimPipeline.__new__(SimPipeline)
    pipe.spec = type("S", (), {"streams": s})()
    assert pipe._engine_input(sent).tolist() == [[-128, 127]]


def test_with_the_tools_the_baseline_overlay_is_built_and_packaged(deployed_baseline, tmp_path, fake_tools):
    """With Vitis HLS and Vivado on PATH (here the fakes), deploy_baseline builds the engine-only overlay
    (only the engine IP) and `make package` ships it with its task file and the comparison notebook."""
    import shutil
    import tarfile
    from fixyfpga.study import baseline
    board = load_board("pynq-z2")
    prj = tmp_path / "hls" / "pynq-z2" / "small_baseline"
    shutil.copytree(deployed_baseline["project"], prj)
    out = baseline.deploy_baseline(prj, deployed_baseline["split"], board, "small", [f"c{i}" for i in range(7)],
                                   log=lambda _: None)
    assert out["vivado"]["status"] == "done"
    # only the engine IP, through the config-file flow (vitis-run and v++ are on PATH)
    assert [c["cwd"] for c in fake_tools.calls("v++", "csynth")] == [str(prj / "backend")]
    assert (prj / "backend" / "fixy_engine_component" / "hls" / "impl" / "ip" / "component.xml").is_file()
    overlay = json.loads(open(out["vivado"]["overlay"]["json"]).read())
    assert "frontend" not in overlay["ips"] and overlay["variant"] == "engine_only"
    assert overlay["signature"] == json.loads((prj / "design.json").read_text())["engine"]["signature"]
    tar = flow.package(prj.parent, tmp_path / "dist" / "pkg.tar.gz")
    with tarfile.open(tar) as t:
        names = set(t.getnames())
    stem = overlay["name"]
    assert {f"fixyfpga/overlays/small_baseline/{stem}.{s}" for s in ("bit", "hwh", "json")} <= names
    assert "fixyfpga/tasks/small_baseline/small.fixytask" in names
    assert "fixyfpga/compare_overlays.ipynb" in names


def test_stand_alone_sim_layout_of_an_engine_only_design(tmp_path):
    """The simulated overlay's fallback layout (no board plan) also leaves the front-end out and carries the
    pixel map and the engine's input type."""
    from fixyfpga.runtime.sim import sim_overlay_dict
    design = engine_only_design(load_board("pynq-z2"), list(range(-128, 128)))
    data, _ = sim_overlay_dict(design)
    with pytest.raises(FixyError, match="pixel_map does not hold one-byte ufixed<8,0> values"):
        parse_overlay(data, tmp_path / "x.json")              # negative values for an unsigned engine input
    design["interface"]["type"] = fixed(8, 0, True)
    data, instances = sim_overlay_dict(design)
    spec = parse_overlay(data, tmp_path / "x.json")
    assert not spec.has_frontend and "fixy_frontend_0" not in [i.name for i in instances]
    assert spec.streams.pixel_map[0] == -128 and spec.streams.in_type.width == 8
