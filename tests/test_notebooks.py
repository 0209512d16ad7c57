"""The notebooks, executed top to bottom with nbclient against the simulated board of a fresh build
(`make notebooks`). Outputs are checked for what each notebook must show."""

import json
import os
from pathlib import Path

import pytest


pytestmark = pytest.mark.notebooks

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["deploy_and_classify", "switch_tasks", "measure_energy", "compare_overlays"]


def run_notebook(name, env, out_dir, timeout=600):
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)                   # the kernel inherits this process's environment
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    nbformat.write(nb, out_dir / f"{name}.ipynb")
    text, images = [], 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text.append(out["text"])
            elif "data" in out:
                images += "image/png" in out["data"]
                text.append(out["data"].get("text/plain", ""))
    return "".join(text), images


@pytest.fixture(scope="module")
def nb_env(sim_project, tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    keep = os.environ.get("FIXY_NOTEBOOK_OUT")        # `make notebooks` keeps the executed copies there
    return out, {"FIXY_BACKEND": "sim", "FIXY_OVERLAY": str(sim_project["overlay"]),
                 "FIXY_TASKS": str(sim_project["overlay"].parent / "tasks"), "FIXY_OUT": str(out),
                 "FIXY_TEST_IMAGES": "200", "FIXY_ENERGY_IMAGES": "200"}, keep


def _keep(keep, out, name):
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / f"{name}.ipynb").write_bytes((out / f"{name}.ipynb").read_bytes())


def test_notebooks_are_clean_and_parameterised():
    import nbformat
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), f"{name} has outputs"
        assert 'BACKEND = os.environ.get("FIXY_BACKEND", "auto")' in code[0].source
        assert "parameters" in code[0].metadata.get("tags", [])


def test_deploy_and_classify(nb_env):
    out, env, keep = nb_env
    text, images = run_notebook("deploy_and_classify", env, out)
    _keep(keep, out, "deploy_and_classify")
    assert "[SIMULATED]" in text and "SIMULATED board" in text
    # The first task is the default model's own back-end, named after the dataset it was trained on.
    import yaml
    source = yaml.safe_load((NOTEBOOKS.parent / "models" / "default" / "model.yaml").read_text())["dataset"]
    assert f"top-1 accuracy of '{source}' on 200 test images" in text
    assert "[SIMULATED: host C-sim speed" in text and "images/s" in text
    assert images >= 1


def test_switch_tasks(nb_env, sim_project):
    out, env, keep = nb_env
    text, images = run_notebook("switch_tasks", env, out)
    _keep(keep, out, "switch_tasks")
    assert "identical outputs on 200 images: True" in text
    for task in sim_project["tasks"]:
        assert task.stem in text
    assert "a task switch sends" in text and "through the weights DMA" in text and "reprogramming would load" in text
    assert images >= 1


def test_measure_energy(nb_env):
    out, env, keep = nb_env
    text, images = run_notebook("measure_energy", env, out)
    _keep(keep, out, "measure_energy")
    assert "power source: sim (SIMULATED)" in text and "[SIMULATED: synthetic power trace" in text
    assert "energy per inference" in text and images >= 1
    saved = json.loads((out / "energy.json").read_text())
    assert saved["simulated"] is True and saved["label"] == "SIMULATED" and saved["n_inferences"] == 200
    assert saved["energy_per_inference_j"] > 0 and (out / "energy.png").is_file()


@pytest.fixture(scope="module")
def baseline_build(default_build, tmp_path_factory):
    """`make compare` on the same build root as the FixyNN project: it must leave the baseline's
    simulated overlay and task file next to the FixyNN project (hls_projects/<board>/default_baseline)."""
    from conftest import REPO, SHARED_DATASETS
    from fixyfpga.study.compare import compare
    _, project = default_build
    compare("pynq-z2", REPO / "configs" / "default.yaml", data_dir=SHARED_DATASETS if SHARED_DATASETS.is_dir() else "",
            out_root=tmp_path_factory.mktemp("compare"), project_root=project.parent.parent, log=lambda msg: None)
    base = project.parent / "default_baseline"
    assert (base / "sim_overlay").is_dir() and list((base / "tasks").glob("*.fixytask"))
    assert (base / "vivado" / "build_vivado.tcl").is_file()
    return base


def test_compare_overlays(nb_env, baseline_build):
    out, env, keep = nb_env
    env = {**env, "FIXY_BASELINE_OVERLAY": str(baseline_build / "sim_overlay"),
           "FIXY_BASELINE_TASKS": str(baseline_build / "tasks")}
    text, images = run_notebook("compare_overlays", env, out)
    _keep(keep, out, "compare_overlays")
    assert "engine-only (no front-end)" in text and "[SIMULATED]" in text
    assert "[SIMULATED: synthetic power trace" in text and "[SIMULATED: host C-sim speed" in text
    # the same model in both overlays, each bit-exact to QKeras: the same classes
    assert "identical top-1 classes on 200 images: True" in text
    assert "energy / inference (uJ)" in text and "throughput (images/s)" in text and images >= 1
    saved = json.loads((out / "compare_overlays.json").read_text())
    assert saved["simulated"] is True and saved["label"] == "SIMULATED" and saved["identical_top1"] is True
    for v in ("fixynn", "baseline"):
        assert saved["variants"][v]["energy_per_inference_uj"] > 0 and saved["variants"][v]["throughput_ips"] > 0
    assert saved["ratios"]["energy_per_inference"] > 0 and (out / "compare_overlays.png").is_file()
    # both of make compare's scopes, end to end, and the host's time per batch for --host-call-ms
    for v in ("fixynn", "baseline"):
        got = saved["variants"][v]
        assert got["energy_board_level_uj"] > 0 and got["host_call_ms"] >= 0 and got["batch_size"] >= 1
    assert saved["ratios"]["energy_board_level"] > 0
    assert saved["reads"]["energy_board_level"].startswith("FixyNN uses ")


def test_compare_overlays_without_baseline_names_the_command(nb_env, tmp_path):
    from nbclient.exceptions import CellExecutionError
    out, env, _ = nb_env
    env = {**env, "FIXY_BASELINE_OVERLAY": str(tmp_path / "missing"), "FIXY_BASELINE_TASKS": str(tmp_path)}
    with pytest.raises(CellExecutionError, match=r"no baseline overlay at \S*missing: run `make compare BOARD=pynq-z2`"):
        run_notebook("compare_overlays", env, out)
