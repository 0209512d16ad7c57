import shutil

import pytest

from fixyfpga.boards import BOARDS_DIR, list_boards, load_board
from fixyfpga.errors import FixyError


def test_all_boards_load_with_their_parts():
    boards = {name: load_board(name) for name in list_boards()}
    assert {"pynq-z2", "zcu104", "ultra96v2", "kv260"} <= set(boards)
    assert boards["pynq-z2"].part == "xc7z020clg400-1"
    assert boards["pynq-z2"].resources.dsp == 220 and boards["pynq-z2"].resources.lut == 53200
    assert boards["pynq-z2"].resources.bram36 == 140
    assert boards["pynq-z2"].ps == "zynq7" and boards["zcu104"].ps == "zynqmp"
    # PYNQ-Z2 has no sensors; the UltraScale+ boards name the PMBus rails the runtime reads.
    assert boards["pynq-z2"].power.source == "external"
    for name in ("zcu104", "ultra96v2", "kv260"):
        assert boards[name].power.source == "pmbus" and boards[name].power.board and boards[name].power.names_from
    assert all(b.dma_address_bits == 32 for b in boards.values())


def test_dma_address_bits_is_checked(tmp_path):
    text = (BOARDS_DIR / "zcu104.yaml").read_text().replace("dma_address_bits: 32", "dma_address_bits: 16")
    (tmp_path / "zcu104.yaml").write_text(text)
    with pytest.raises(FixyError, match="dma_address_bits must be one of 32, 33"):
        load_board("zcu104", boards_dir=tmp_path)


def test_unknown_board_lists_known_ones():
    with pytest.raises(FixyError, match=r"unknown board 'pynq-z3'.*pynq-z2.*boards/pynq-z3.yaml"):
        load_board("pynq-z3")


def test_board_file_missing_a_field(tmp_path):
    text = (BOARDS_DIR / "pynq-z2.yaml").read_text().replace("part: xc7z020clg400-1\n", "")
    (tmp_path / "pynq-z2.yaml").write_text(text)
    with pytest.raises(FixyError, match="missing required key 'part'"):
        load_board("pynq-z2", boards_dir=tmp_path)


def test_board_file_with_a_typo(tmp_path):
    text = (BOARDS_DIR / "zcu104.yaml").read_text().replace("clock_mhz:", "clok_mhz:")
    (tmp_path / "zcu104.yaml").write_text(text)
    with pytest.raises(FixyError, match="unknown key 'clok_mhz'; did you mean 'clock_mhz'"):
        load_board("zcu104", boards_dir=tmp_path)


def test_board_name_must_match_file(tmp_path):
    shutil.copy(BOARDS_DIR / "kv260.yaml", tmp_path / "kv261.yaml")
    with pytest.raises(FixyError, match="does not match the file name"):
        load_board("kv261", boards_dir=tmp_path)
