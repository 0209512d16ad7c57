"""Fixed-point types as hls4ml and the board see them, and exact conversion to and from raw integers.

A value v of a type with F fractional bits is carried everywhere outside the QKeras model as its raw
integer v * 2**F (int64): C-sim bridges, task files, DMA buffers. Conversions check that values lie on
the type's grid and in its range, so an inexact conversion is an error, never a silent rounding.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

from fixyfpga.errors import FixyError


@dataclass(frozen=True)
class FixedType:
    width: int
    integer: int
    signed: bool = True
    # Quantizing casts (activations) round half to even and saturate, like QKeras's tf.round + clip.
    rounding: str = "TRN"
    saturation: str = "WRAP"

    @property
    def frac(self):
        return self.width - self.integer

    @property
    def lsb(self):
        return 2.0 ** -self.frac

    @property
    def raw_min(self):
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def raw_max(self):
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def min_value(self):
        return self.raw_min * self.lsb

    @property
    def max_value(self):
        return self.raw_max * self.lsb

    def hls(self):
        """hls4ml precision string, e.g. 'ufixed<8,3,RND_CONV,SAT>'."""
        base = "fixed" if self.signed else "ufixed"
        if self.rounding == "TRN" and self.saturation == "WRAP":
            return f"{base}<{self.width},{self.integer}>"
        return f"{base}<{self.width},{self.integer},{self.rounding},{self.saturation}>"

    def c_type(self):
        """The ap_types spelling used in generated C++."""
        base = "ap_fixed" if self.signed else "ap_ufixed"
        if self.rounding == "TRN" and self.saturation == "WRAP":
            return f"{base}<{self.width},{self.integer}>"
        rnd = {"RND_CONV": "AP_RND_CONV", "TRN": "AP_TRN"}[self.rounding]
        sat = {"SAT": "AP_SAT", "WRAP": "AP_WRAP"}[self.saturation]
        return f"{base}<{self.width},{self.integer},{rnd},{sat}>"

    def storage_bits(self):
        """Bits per value when packed into bytes (task files, DMA words): next power of two >= width, min 8."""
        return max(8, 1 << math.ceil(math.log2(self.width)))

    def to_raw(self, values, what="values"):
        """Exact float -> raw int64; raises if any value is off-grid or out of range."""
        values = np.asarray(values, dtype=np.float64)
        scaled = values * (2.0 ** self.frac)
        raw = np.rint(scaled)
        if not np.array_equal(raw, scaled):
            bad = np.flatnonzero(raw.ravel() != scaled.ravel())[0]
            raise FixyError(f"{what}: value {values.ravel()[bad]!r} is not on the grid of {self.hls()}")
        if raw.size and (raw.min() < self.raw_min or raw.max() > self.raw_max):
            raise FixyError(f"{what}: values span [{values.min()}, {values.max()}], outside {self.hls()} "
                            f"[{self.min_value}, {self.max_value}]")
        return raw.astype(np.int64)

    def from_raw(self, raw):
        return np.asarray(raw, dtype=np.float64) * self.lsb

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        return cls(**d)


# Integers of magnitude up to 2**bits are exact in these float types (their mantissa bits + 1).
FLOAT_EXACT_BITS = {np.dtype(np.float32): 24, np.dtype(np.float64): 53}


_SATURATE_CHUNK = 1 << 16
_FILLED = {}


def _filled(value, dtype):
    """A contiguous read-only array of _SATURATE_CHUNK copies of value, made once per (value, dtype)."""
    key = (value, np.dtype(dtype))
    a = _FILLED.get(key)
    if a is None:
        a = np.full(_SATURATE_CHUNK, value, dtype)
        a.flags.writeable = False
        _FILLED[key] = a
    return a


def _saturate(a, lo, hi):
    """np.clip(a, lo, hi, out=a). numpy 1.26 vectorises minimum/maximum only between two contiguous
    arrays, not against a scalar: chunk by chunk against filled arrays this runs 3x faster than np.clip."""
    if not a.flags.c_contiguous:
        return np.clip(a, lo, hi, out=a)
    flat = a.reshape(-1)                            # a view, since a is contiguous
    his, los = _filled(hi, a.dtype), _filled(lo, a.dtype)
    for start in range(0, len(flat), _SATURATE_CHUNK):
        part = flat[start:start + _SATURATE_CHUNK]
        np.minimum(part, his[:len(part)], out=part)
        np.maximum(part, los[:len(part)], out=part)
    return a


def requantize(raw, from_frac, to_type, overwrite=False):
    """Raw values at `from_frac` fractional bits -> raw int64 of `to_type`: round half to even, then
    saturate (a new array).

    `raw` is an integer array, or a float32/float64 array holding raw values exactly (a float
    accumulator): scaling by a power of two and np.rint (half to even) are exact in floating point.
    overwrite: a float `raw` may be used as scratch space."""
    raw = np.asarray(raw)
    shift = from_frac - to_type.frac
    if raw.dtype.kind == "f":
        if shift:
            out = np.multiply(raw, raw.dtype.type(2.0 ** -shift), out=raw if overwrite else None)
        else:
            out = raw if overwrite else raw.copy()
        np.rint(out, out=out)
        if to_type.width <= FLOAT_EXACT_BITS[raw.dtype]:       # the bounds are exact in this float type
            return _saturate(out, to_type.raw_min, to_type.raw_max).astype(np.int64)
        out = out.astype(np.int64)
    elif shift > 0:
        # Round half to even in integers: floor((raw + 2**(shift-1) - 1 + (floor(raw / 2**shift) & 1)) / 2**shift)
        # (arithmetic shifts floor, negative values included).
        out = raw >> shift
        out &= 1
        out += raw
        out += (1 << (shift - 1)) - 1
        out >>= shift
    elif shift < 0:
        out = raw << (-shift)
    else:
        out = raw.copy()
    return np.clip(out, to_type.raw_min, to_type.raw_max, out=out)


def signed_covering(lo, hi, frac):
    """Smallest signed type with `frac` fractional bits that holds every value in [lo, hi]."""
    integer = 1
    while -(2.0 ** (integer - 1)) > lo or (2.0 ** (integer - 1)) - 2.0 ** -frac < hi:
        integer += 1
    return FixedType(width=integer + frac, integer=integer, signed=True)


def quantizer_type(quantizer, where):
    """The fixed-point type whose grid and range equal a QKeras quantizer's output.

    Supported: quantized_bits with alpha 1 (or None), quantized_relu without slope or sigmoid, binary
    (+-1, or 0/1 with use_01) and ternary (-1, 0, +1) with alpha 1 (or None). A per-channel alpha
    ('auto_po2') is factored out of a layer's weights by the importer (fixyfpga.ir) before this is asked.
    """
    name = type(quantizer).__name__
    cfg = quantizer.get_config() if hasattr(quantizer, "get_config") else {}
    if name in ("binary", "ternary"):
        if cfg.get("use_stochastic_rounding"):
            raise FixyError(f"{where}: stochastic rounding cannot be reproduced in hardware; turn it off")
        if cfg.get("alpha") not in (None, 1, 1.0):
            raise FixyError(f"{where}: {name} with alpha={cfg.get('alpha')!r} is not a fixed-point grid; use alpha=1 "
                            f"(or 'auto_po2' on a layer's weights)")
        if name == "binary" and cfg.get("use_01"):
            return FixedType(1, 1, False)
        return FixedType(2, 2, True)          # -1, (0), +1
    if name == "quantized_bits":
        alpha = cfg.get("alpha")
        if alpha not in (None, 1, 1.0):
            raise FixyError(f"{where}: quantized_bits with alpha={alpha!r} scales per channel, which hls4ml cannot "
                            f"reproduce bit-exactly; use alpha=1")
        if cfg.get("use_stochastic_rounding"):
            raise FixyError(f"{where}: stochastic rounding cannot be reproduced in hardware; turn it off")
        bits, integer = int(cfg["bits"]), int(cfg["integer"])
        if cfg.get("keep_negative", True):
            return FixedType(bits, integer + 1, True, "RND_CONV", "SAT")
        return FixedType(bits, integer, False, "RND_CONV", "SAT")
    if name == "quantized_relu":
        if cfg.get("negative_slope", 0) or cfg.get("use_sigmoid", 0) or cfg.get("relu_upper_bound"):
            raise FixyError(f"{where}: quantized_relu with negative_slope, use_sigmoid or relu_upper_bound is not "
                            f"supported; use plain quantized_relu(bits, integer)")
        if cfg.get("use_stochastic_rounding"):
            raise FixyError(f"{where}: stochastic rounding cannot be reproduced in hardware; turn it off")
        return FixedType(int(cfg["bits"]), int(cfg["integer"]), False, "RND_CONV", "SAT")
    raise FixyError(f"{where}: quantizer {name} is not supported; use quantized_bits(alpha=1) or quantized_relu")


def grid_twin(quantizer):
    """An alpha=1 quantized_bits whose grid and range hold the quantizer's values without its per-channel
    scale: the quantizer the canonical model (and hls4ml) use once the scale is factored out."""
    from qkeras import quantized_bits
    name = type(quantizer).__name__
    cfg = quantizer.get_config()
    if name in ("binary", "ternary"):
        if name == "binary" and cfg.get("use_01"):
            return quantized_bits(1, 1, keep_negative=False, alpha=1)
        return quantized_bits(2, 1, alpha=1)          # -2, -1, 0, 1: holds -1, 0, +1
    return quantized_bits(int(cfg["bits"]), int(cfg["integer"]), symmetric=cfg.get("symmetric", 0),
                          keep_negative=cfg.get("keep_negative", True), alpha=1)


def exact_quantizer(values):
    """(values, quantized_bits) with alpha=1 whose grid holds every value exactly and whose range covers
    them: the quantizer a kit-made layer of the canonical QKeras model holds its constants with."""
    from qkeras import quantized_bits
    values = np.asarray(values, dtype=np.float64)
    frac = 0
    while frac < 60 and not np.array_equal(values * 2.0 ** frac, np.round(values * 2.0 ** frac)):
        frac += 1
    top = float(np.max(np.abs(values))) if values.size else 0.0
    integer = 0
    while 2.0 ** integer - 2.0 ** -frac < top or -(2.0 ** integer) > -top:
        integer += 1
    # quantized_bits(bits, integer): signed, grid 2**(integer - bits + 1), range [-2**integer, 2**integer - lsb]
    # (one bit is QKeras's sign function: at least two).
    bits = max(integer + frac + 1, 2)
    return values, quantized_bits(bits, integer, alpha=1)


def parse_type(text, where="type"):
    """FixedType from an hls4ml-style string: 'ufixed<8,0>', 'fixed<16,6>' (also ap_fixed/ap_ufixed)."""
    import re
    m = re.fullmatch(r"\s*(?:ap_)?(u?)fixed\s*<\s*(\d+)\s*,\s*(-?\d+)\s*>\s*", str(text))
    if not m or int(m.group(2)) < 1:
        raise FixyError(f"{where}: '{text}' is not a fixed-point type; write e.g. 'ufixed<8,0>' (pixels/256) or "
                        f"'fixed<8,1>'")
    return FixedType(int(m.group(2)), int(m.group(3)), signed=not m.group(1))
