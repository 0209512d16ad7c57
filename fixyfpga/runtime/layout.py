"""Packing engine weight ports into memory words and back (see overlay_spec for the layout)."""

import numpy as np

from fixyfpga.errors import FixyError


def word_dtype(word_bits):
    return np.uint32 if word_bits == 32 else np.uint64


def pack_words(raw, spec):
    """Raw int64 port values -> memory words (uint32/uint64) for WeightSpec `spec`; checks size and range."""
    raw = np.asarray(raw)
    if not np.issubdtype(raw.dtype, np.integer):
        raise FixyError(f"{spec.label}: raw values must be integers, got {raw.dtype}")
    raw = raw.astype(np.int64).ravel()
    if raw.size != spec.size:
        raise FixyError(f"{spec.label}: the engine takes {spec.size} values, the task has {raw.size}")
    t = spec.type
    if raw.size and (raw.min() < t.raw_min or raw.max() > t.raw_max):
        raise FixyError(f"{spec.label}: raw values span [{raw.min()}, {raw.max()}], outside {t.hls()} "
                        f"[{t.raw_min}, {t.raw_max}]")
    epw, bits = spec.elems_per_word, spec.elem_bits
    field = raw.astype(np.uint64) & np.uint64((1 << bits) - 1 if bits < 64 else 0xFFFFFFFFFFFFFFFF)
    padded = np.zeros(spec.words * epw, dtype=np.uint64)
    padded[:raw.size] = field
    lanes = padded.reshape(spec.words, epw)
    words = np.zeros(spec.words, dtype=np.uint64)
    for lane in range(epw):
        words |= lanes[:, lane] << np.uint64(lane * bits)
    return words.astype(word_dtype(spec.word_bits))


def unpack_words(words, spec):
    """Memory words -> raw int64 port values, read as the engine reads them (low `type.width` bits of
    each field, sign-extended for signed types)."""
    words = np.asarray(words).astype(np.uint64).ravel()
    if words.size < spec.words:
        raise FixyError(f"{spec.label}: {words.size} words read, {spec.words} needed")
    epw, bits, width = spec.elems_per_word, spec.elem_bits, spec.type.width
    lanes = np.empty((spec.words, epw), dtype=np.uint64)
    for lane in range(epw):
        lanes[:, lane] = words[:spec.words] >> np.uint64(lane * bits)
    mask = np.uint64((1 << width) - 1) if width < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
    vals = (lanes.ravel()[:spec.size] & mask).astype(np.int64)
    if spec.type.signed and width < 64:
        sign = np.int64(1 << (width - 1))
        vals = np.where(vals >= sign, vals - (np.int64(1) << np.int64(width)), vals)
    return vals


def to_words32(words):
    """A uint32 view of packed words (64-bit words split low word first, as little-endian memory)."""
    words = np.ascontiguousarray(words)
    return words.view(np.uint32) if words.dtype == np.uint64 else words.astype(np.uint32, copy=False)
