"""How a quantized model's parameters become bytes, and back, every field checked.

A quantized coefficient is stored as an unsigned ``bits``-wide code ``q`` and dequantized as

    w = (q - zero_point) * scale * 2**-exponent

with one float32 ``scale`` shared by all coefficients. Min-max grids store their integer
``zero_point`` as one more code and have no exponents. Symmetric grids have the implied
zero point ``2**(bits-1) - 1`` and one int8 exponent per coefficient. Either way, zero is
the code ``q == zero_point`` and dequantizes to exactly 0.0. The intercept is a float32.

A quantized file's ``params`` member is a header, then that payload:

    bits      uint8
    method    uint8, its position in config.METHODS
    flags     uint8: 1 symmetric grid, 2 method picked by auto on the training split
    shifts    int8 per feature: the integer kernel's input shifts
    payload   ``layout``: scale, intercept, exponents (symmetric), packed codes

Bytes, not JSON in the file's meta: the quantized file is to be smaller than the float one.
"""
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .cli import UserError
from .config import MAX_BITS, METHODS, MIN_BITS
from .model import Quantization

SYMMETRIC = 1
AUTO = 2
HEAD = 3  # bytes before the shifts: bits, method, flags
MAX_SHIFT = 64  # the input shifts a file may give, in magnitude


@dataclass(frozen=True)
class Quantized:
    """Quantized parameters, exactly as stored.

    codes : ndarray of shape (n_features,), int64, each in [0, 2**bits)
    scale, intercept : np.float32
    zero_point : int, in [0, 2**bits)
    exponents : ndarray of shape (n_features,), int8, or None for min-max grids
    """
    method: str
    bits: int
    codes: np.ndarray
    scale: np.float32
    zero_point: int
    intercept: np.float32
    exponents: np.ndarray = None

    @property
    def symmetric(self):
        return self.exponents is not None

    @property
    def payload_bytes(self):
        return payload_bytes(self.symmetric, self.bits, len(self.codes))


def qmax(bits):
    """Largest magnitude on a symmetric grid; the code of zero is this value."""
    return 2 ** (bits - 1) - 1


def steps(q):
    """Grid step of each coefficient, shape (n_features,), in coefficient units."""
    step = np.full(len(q.codes), float(q.scale))
    if q.exponents is not None:
        step = np.ldexp(step, -q.exponents.astype(np.int64))
    return step


def dequantize(q):
    """Float64 coefficients of shape (n_features,) and intercept of a ``Quantized``."""
    return (q.codes - q.zero_point) * steps(q), float(q.intercept)


def pack_bits(codes, bits):
    """Unsigned codes of shape (n,) as a little-endian bit stream of ceil(n*bits/8) bytes."""
    codes = np.asarray(codes, dtype=np.int64)
    assert codes.min() >= 0 and codes.max() < 2 ** bits, "codes must fit in bits"
    planes = (codes[:, None] >> np.arange(bits)) & 1
    return np.packbits(planes.astype(np.uint8).ravel(), bitorder="little").tobytes()


def unpack_bits(buf, bits, n):
    """Inverse of ``pack_bits``: n codes, int64, from a bit stream."""
    planes = np.unpackbits(np.frombuffer(buf, np.uint8), bitorder="little")[: n * bits]
    return planes.reshape(n, bits).astype(np.int64) @ (1 << np.arange(bits, dtype=np.int64))


def check_bits(bits):
    """A ValueError, worded to follow the name of what gave it, unless ``bits`` is a width
    this format stores."""
    if not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"should be from {MIN_BITS} to {MAX_BITS}, got {bits}")


def layout(symmetric, bits, n):
    """The payload's fields in order, as (name, bytes), for n coefficients on a symmetric
    grid (per-coefficient exponents) or a min-max one (a zero point)."""
    check_bits(bits)
    if symmetric:
        return [("scale", 4), ("intercept", 4), ("exponents", n), ("codes", -(-n * bits // 8))]
    # min-max grids carry their zero point as one more code
    return [("scale", 4), ("intercept", 4), ("codes", -(-(n + 1) * bits // 8))]


def payload_bytes(symmetric, bits, n):
    """What the parameters take in a file: the sum of ``layout``."""
    return sum(size for _, size in layout(symmetric, bits, n))


def encode(q):
    """The payload bytes of a ``Quantized``: the parameters and nothing else."""
    out = [np.float32(q.scale).tobytes(), np.float32(q.intercept).tobytes()]
    if q.symmetric:
        out.append(q.exponents.astype(np.int8).tobytes())
        out.append(pack_bits(q.codes, q.bits))
    else:
        out.append(pack_bits(np.append(q.codes, q.zero_point), q.bits))
    return b"".join(out)


def decode(payload, method, symmetric, bits, n):
    """Inverse of ``encode``; raises ValueError when the payload does not fit the layout."""
    fields = layout(symmetric, bits, n)
    expected = payload_bytes(symmetric, bits, n)
    if len(payload) != expected:
        raise ValueError(f"expected {expected} payload bytes for {n} coefficients at "
                         f"{bits} bits ({method}), got {len(payload)}")
    parts = {}
    at = 0
    for name, size in fields:
        parts[name] = payload[at:at + size]
        at += size
    scale = np.frombuffer(parts["scale"], "<f4")[0]
    intercept = np.frombuffer(parts["intercept"], "<f4")[0]
    if symmetric:
        codes = unpack_bits(parts["codes"], bits, n)
        exponents = np.frombuffer(parts["exponents"], np.int8).copy()
        return Quantized(method, bits, codes, scale, qmax(bits), intercept, exponents)
    codes = unpack_bits(parts["codes"], bits, n + 1)
    return Quantized(method, bits, codes[:n], scale, int(codes[n]), intercept)


def header_bytes(q, shifts, auto):
    flags = SYMMETRIC * q.symmetric | AUTO * bool(auto)
    head = bytes([q.bits, METHODS.index(q.method), flags])
    return head + np.asarray(shifts, dtype=np.int8).tobytes()


def read_header(params, n, where):
    """The ``model.Quantization`` a quantized file's ``params`` bytes give for n features;
    a UserError naming the first field that is wrong."""
    if len(params) < HEAD + n:
        raise UserError(f"{where}: 'params' holds {len(params)} bytes; expected a header of "
                        f"{HEAD + n} and the parameters")
    bits = params[0]
    method = params[1]
    flags = params[2]
    try:
        check_bits(bits)
    except ValueError as e:
        raise UserError(f"{where}: 'bits' {e}") from None
    if method >= len(METHODS):
        raise UserError(f"{where}: unknown quantization method number {method}; expected 0 "
                        f"to {len(METHODS) - 1} ({', '.join(METHODS)})")
    if flags & ~(SYMMETRIC | AUTO):
        raise UserError(f"{where}: flags {flags:#04x}; expected only 0x01 (symmetric) and "
                        f"0x02 (auto)")
    shifts = tuple(int(s) for s in np.frombuffer(params[HEAD:HEAD + n], np.int8))
    if not all(-MAX_SHIFT <= s <= MAX_SHIFT for s in shifts):
        raise UserError(f"{where}: 'input_shifts' should be from {-MAX_SHIFT} to {MAX_SHIFT}, "
                        f"got {list(shifts)}")
    return Quantization(METHODS[method], bits, bool(flags & SYMMETRIC), bool(flags & AUTO),
                        shifts)


def to_bytes(q, shifts, auto):
    """A quantized file's ``params``: the header, then the payload of ``encode``."""
    return header_bytes(q, shifts, auto) + encode(q)


class Stored(NamedTuple):
    """A quantized file's ``params``, read: what its header says, and the parameters."""
    quantization: Quantization
    quantized: Quantized


def from_bytes(params, n, where):
    """The Stored of a quantized file's ``params`` bytes for n features."""
    quantization = read_header(params, n, where)
    try:
        quantized = decode(params[HEAD + n:], quantization.method, quantization.symmetric,
                           quantization.bits, n)
    except ValueError as e:
        raise UserError(f"{where}: {e}") from None
    return Stored(quantization, quantized)
