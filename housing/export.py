"""The quantized model as integer-only C99, for hosts without Python or an FPU.

    python -m housing export --c DIR [--model artifacts/models/quantized.npz]

Writes DIR/housing_model.h (the formats and constants of this model), DIR/housing_model.c
(the kernel: fixed point in, fixed point out; no float or double, no allocation, no libc)
and, kept apart for hosts that have floating point, DIR/housing_model_float.h (the
conversions). The kernel computes exactly what ``housing predict --integer`` does.
"""
from importlib import resources
from pathlib import Path

from . import integer, store
from .cli import Parser, UserError, atomic_write, command, display, write_out
from .config import QUANTIZED_MODEL

SOURCES = ("housing_model.c", "housing_model_float.h")  # the same for every model

HEADER = """\
/* {name}: California Housing's quantized linear model as integer-only C99.
 * Written by `housing export --c` from {model} (version {version}, the start of its sha256); do not edit.
 *
 * Input:  x[j] = round(value_j * 2**s_j), halves away from zero, as an int32, for the
 *         features in HOUSING_FEATURE_NAMES order, s_j in HOUSING_INPUT_SHIFTS; a value
 *         that does not fit has no input (housing_model_float.h converts and checks).
 * Output: the prediction in $100,000 times 2**HOUSING_OUT_FRACTION_BITS, an int64.
 */
#ifndef HOUSING_MODEL_H
#define HOUSING_MODEL_H
#include <stdint.h>

#define HOUSING_N_FEATURES {n}
#define HOUSING_OUT_FRACTION_BITS {out}
#define HOUSING_FEATURE_NAMES {{{names}}}
#define HOUSING_INPUT_SHIFTS {{{input_shifts}}}
#define HOUSING_INPUT_SCALE_VALUES {{{scales}}}

/* the kernel's constants: stored codes less the zero point, the shift that moves each
 * term to the accumulator's fraction, the intercept in its units, and the shared scale
 * as a multiplier and right shift */
#define HOUSING_CODES {{{codes}}}
#define HOUSING_SHIFTS {{{shifts}}}
#define HOUSING_INTERCEPT INT64_C({intercept})
#define HOUSING_MULTIPLIER UINT64_C({multiplier})
#define HOUSING_RSHIFT {rshift}

int64_t housing_predict(const int32_t x[HOUSING_N_FEATURES]);
#endif
"""


# Bytes a C string literal may hold as they are; any other (a quote, a backslash, '?' of a
# trigraph, a control or non-ASCII byte) is written as a three-digit octal escape, so a
# name, whatever it holds, stays one string in the C.
C_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.,:;()[]$%+/=<>")


def c_string(text):
    """``text`` as a C string literal: its UTF-8 bytes, escaped where they are not plain."""
    return '"' + "".join(chr(b) if b in C_PLAIN else f"\\{b:03o}"
                         for b in text.encode("utf-8", "surrogatepass")) + '"'


def c_comment(text):
    """``text`` for a C comment: printable ASCII without the '*/' that would end it."""
    plain = "".join(c if " " <= c <= "~" else "?" for c in text)
    return plain.replace("*/", "*?")


def header(kernel, features, source, version):
    """The text of housing_model.h: a ``integer.Kernel``, the feature names, and the
    model file it came from (its name and ``model.Model.version``)."""
    k = kernel
    join = ", ".join
    return HEADER.format(
        name="housing_model.h", model=c_comment(Path(source).name), n=len(k.codes), out=integer.OUT,
        version=version, names=join(map(c_string, features)), input_shifts=join(map(str, k.input_shifts)),
        scales=join(f"0x1p{s}" for s in k.input_shifts), codes=join(map(str, k.codes)),
        shifts=join(map(str, k.shifts)), intercept=k.intercept, multiplier=k.multiplier,
        rshift=k.rshift)


def parser():
    p = Parser(prog="housing export", description=__doc__.splitlines()[0])
    p.add_argument("--c", metavar="DIR", required=True, help="the folder to write the C into")
    p.add_argument("--model", default=QUANTIZED_MODEL, help="the quantized model, .npz")
    return p


@command("housing export")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    model = store.load_model(args.model, kind="quantized")
    out = Path(args.c)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{display(out)}: cannot create the folder ({e.strerror})") from None
    atomic_write(out / "housing_model.h",
                 header(model.kernel, model.features, args.model, model.version).encode())
    for name in SOURCES:
        atomic_write(out / name, (resources.files("housing") / "c" / name).read_bytes())
    write_out(f"export: {len(SOURCES) + 1} files of integer-only C -> {display(out)}\n",
              "the summary")
    return 0
