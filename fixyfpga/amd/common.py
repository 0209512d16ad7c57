"""Helpers shared by the readers: XML loading with a one-line error, report numbers."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from fixyfpga.errors import FixyError

# What AMD's reports print for a figure the tool could not bound: `undef` in the XML reports (a loop bound read
# from an AXI-lite register, case 06/07 of the corpus), `?` in `<top>_csynth.rpt`, `-` in the Synthesis Summary.
OPEN_FIGURES = ("undef", "?", "-", "", "NA", "N/A", "x")


def parse_xml(path, what, fix):
    """The root element of an XML file, or a FixyError naming the file and `fix`. A UTF-8 byte order mark
    (Vivado writes one at the start of every .hwh) is accepted."""
    path = Path(path)
    if not path.is_file():
        raise FixyError(f"{path} does not exist: {fix}")
    try:
        return ET.fromstring(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    except ET.ParseError as exc:
        raise FixyError(f"{path} is not a readable {what} ({exc}); {fix}") from None


def number(text, kind=float):
    """A report figure as `kind`, or None for a figure the tool left open ('undef', '?', '-')."""
    if text is None:
        return None
    text = str(text).strip()
    if text in OPEN_FIGURES:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if kind is int:
        return int(value) if value.is_integer() else None
    return value


def child_text(node, tag, default=""):
    """Stripped text of the first child `tag` of `node`, or `default`."""
    if node is None:
        return default
    child = node.find(tag)
    if child is None or child.text is None:
        return default
    return child.text.strip()


def local(tag):
    """An element's tag without its XML namespace ({http://...}name -> name)."""
    return tag.rsplit("}", 1)[-1]


def element_paths(root):
    """Every element path from the root (namespace-free tags), e.g. 'profile/InterfaceSummary/RtlPorts/name':
    the structure two files of one format share, whatever their contents."""
    paths = set()

    def walk(node, prefix):
        path = f"{prefix}/{local(node.tag)}" if prefix else local(node.tag)
        paths.add(path)
        for child in node:
            if isinstance(child.tag, str):
                walk(child, path)

    walk(root, "")
    return paths


def read_text(path, what, fix):
    path = Path(path)
    if not path.is_file():
        raise FixyError(f"{path} does not exist: {fix}")
    return path.read_text(errors="replace").removeprefix("\ufeff")


_HEX = re.compile(r"^0[xX][0-9a-fA-F]+$")


def integer(text):
    """An address or offset as written by AMD's tools: decimal ('16') or hex ('0x40000000'); None if absent."""
    if text is None:
        return None
    text = str(text).strip()
    if not text:
        return None
    if _HEX.match(text):
        return int(text, 16)
    try:
        return int(text)
    except ValueError:
        return None
