import pytest

from fixyfpga.config import load_config
from fixyfpga.errors import FixyError

from conftest import REPO

DEFAULT = (REPO / "configs" / "default.yaml").read_text()


def write(tmp_path, text):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_default_config_loads():
    cfg = load_config(REPO / "configs" / "default.yaml")
    assert cfg.board == "pynq-z2" and cfg.split == "b1_dw_act"
    assert cfg.frontend.reuse_factor == 1 and cfg.backend.strategy == "resource"
    assert cfg.model_dir().joinpath("model.yaml").is_file()


def test_top_level_typo_names_key_and_suggestion(tmp_path):
    path = write(tmp_path, DEFAULT.replace("split:", "spilt:"))
    with pytest.raises(FixyError, match=r"exp.yaml: unknown key 'spilt'; did you mean 'split'\?"):
        load_config(path)


def test_nested_typo_names_section(tmp_path):
    path = write(tmp_path, DEFAULT.replace("dsp_fraction:", "dsp_fractoin:"))
    with pytest.raises(FixyError, match=r"backend: unknown key 'dsp_fractoin'; did you mean 'dsp_fraction'"):
        load_config(path)


def test_frontend_must_be_fully_unrolled(tmp_path):
    path = write(tmp_path, DEFAULT.replace("reuse_factor: 1", "reuse_factor: 4"))
    with pytest.raises(FixyError, match="frontend.reuse_factor must be 1"):
        load_config(path)


def test_bad_strategy_and_fraction(tmp_path):
    with pytest.raises(FixyError, match="backend.strategy must be one of"):
        load_config(write(tmp_path, DEFAULT.replace("strategy: resource", "strategy: fast")))
    with pytest.raises(FixyError, match=r"dsp_fraction must be in \(0, 1\]"):
        load_config(write(tmp_path, DEFAULT.replace("dsp_fraction: 0.5", "dsp_fraction: 2")))


def test_missing_name_and_bad_yaml(tmp_path):
    with pytest.raises(FixyError, match="missing required key 'name'"):
        load_config(write(tmp_path, "model: models/default\n"))
    with pytest.raises(FixyError, match="not valid YAML"):
        load_config(write(tmp_path, "name: [unclosed\n"))
    with pytest.raises(FixyError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_input_mapping_keys_are_checked_and_live_under_input(tmp_path):
    cfg = load_config(write(tmp_path, DEFAULT + "input: {resize: pad, channels: replicate}\n"))
    assert (cfg.input.resize, cfg.input.channels) == ("pad", "replicate")
    assert cfg.input.image_map().to_dict() == {"resize": "pad", "channels": "replicate"}
    with pytest.raises(FixyError, match="input: resize must be one of pad, crop, resize .*got 'stretch'"):
        load_config(write(tmp_path, DEFAULT + "input: {resize: stretch}\n"))
    with pytest.raises(FixyError, match="input: channels must be one of replicate, luma"):
        load_config(write(tmp_path, DEFAULT + "input: {channels: rgb}\n"))
    # One home for the mapping: under csim it is an error naming where it goes.
    with pytest.raises(FixyError, match=r"csim: resize is set under `input:` \(input.resize\).*move it there"):
        load_config(write(tmp_path, DEFAULT.replace("  seed: 0", "  seed: 0\n  resize: pad")))


def test_experiment_round_trips_through_the_build_report_dict(tmp_path):
    from fixyfpga.config import experiment_from_dict, experiment_to_dict
    cfg = load_config(write(tmp_path, DEFAULT + "input: {resize: crop}\n"))
    again = experiment_from_dict(experiment_to_dict(cfg), "report")
    assert again == cfg and again.quantize is None
