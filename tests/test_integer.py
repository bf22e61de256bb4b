"""The integer kernel against exact rational arithmetic of the formula it implements, and
hand-derived constants and answers."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from housing import integer
from housing import model as m
from housing import qparams
from housing import quantize as qz
from housing import store
from housing.config import SWEEP_BITS
from housing.train import fit

from helpers import ROWS, run_predict, synthetic


def test_kernel_constants_and_answer_by_hand():
    # codes 10, 5 on a 4-bit symmetric grid (zero point 7): c = 3, -2; exponents 0, 1;
    # scale 1/4; intercept 1; inputs in 1/16ths. t = (4, 5); the left-shift room is
    # 4 + 63 - 3 (guard for 2 terms) - 31 - 2 (bits of |c| <= 3) = 31, below the 46 that
    # would put R in [2**-32, 2**-31): F = 31, R = 2**-2 * 2**(16 - 31) = 2**-17, so
    # N = 48 and M = 2**31; I = 1 / (1/4) * 2**31 = 2**33.
    q = qparams.Quantized("standardized", 4, np.array([10, 5]), np.float32(0.25), 7,
                    np.float32(1.0), np.array([0, 1], np.int8))
    k = integer.kernel(q, [4, 4])
    assert k == integer.Kernel(codes=(3, -2), input_shifts=(4, 4), shifts=(27, 26),
                               intercept=2 ** 33, multiplier=2 ** 31, rshift=48)
    # x = (1.5, 2.0): X = (24, 32); y = 1 + 1/4 * (3 * 1.5 - 2 * 2.0 / 2) = 1.625
    X, fits = integer.to_fixed(k, np.array([[1.5, 2.0]]))
    assert X.tolist() == [[24, 32]] and fits.tolist() == [True]
    assert integer.predict(k, X).tolist() == [int(1.625 * 2 ** 16)]


def test_right_shifts_and_the_multiplier_round_halves_away_from_zero():
    # one feature, moved right by 1, then times 2**31 / 2**33 = 1/4:
    # x = 3, -3, 5, -5, 2 -> acc = round(x / 2) = 2, -2, 3, -3, 1 -> Y = round(acc / 4)
    k = integer.Kernel((1,), (0,), (-1,), 0, 2 ** 31, 33)
    assert integer.predict(k, [[3], [-3], [5], [-5], [2]]).tolist() == [1, -1, 1, -1, 0]
    # a right shift past 62 gives 0 for every product, as the exact one would
    k = integer.Kernel((2 ** 16 - 1,), (0,), (-70,), 2 ** 33, 2 ** 31, 33)
    assert integer.predict(k, [[2 ** 31 - 1], [-(2 ** 31 - 1)]]).tolist() == [2 ** 31] * 2


def test_input_shifts_by_hand():
    # the largest s with 2 * m * 2**s < 2**31: m = 15 -> 26; 35682 -> 14; 0.5 -> 30;
    # exactly 1 -> 29 (2 * 2**30 would not fit); 0 -> 30
    assert integer.input_shifts([0, -35682, 0.2, -1, 0], [15, 3, 0.5, 1, 0]).tolist() == \
        [26, 14, 30, 29, 30]


def test_decimal_and_rounding_by_hand():
    assert [integer.decimal(y) for y in (0, 1, -81920, 3 << 16, -1)] == \
        ["0.0", "0.0000152587890625", "-1.25", "3.0", "-0.0000152587890625"]
    k = integer.Kernel((1,), (1,), (0,), 0, 2 ** 31, 47)
    # x * 2 rounded half away from zero: 0.25 -> 0.5 -> 1; -0.25 -> -1; 0.2 -> 0
    X, fits = integer.to_fixed(k, np.array([[0.25], [-0.25], [0.2], [2 ** 30 - 0.5],
                                            [2 ** 30 - 0.25], [-(2 ** 30)]]))
    # -2**31 is int32's too, but refused: inputs are symmetric (a value that does not fit
    # is refused by the caller; its place holds 0)
    assert X.ravel().tolist() == [1, -1, 0, 2 ** 31 - 1, 0, 0]
    assert fits.tolist() == [True, True, True, True, False, False]


def exact(q, shifts, X):
    """The dequantized model's prediction at the fixed-point inputs X, as a Fraction."""
    e = [0] * len(q.codes) if q.exponents is None else [int(v) for v in q.exponents]
    y = Fraction(float(q.intercept))
    for code, ej, s, x in zip(q.codes, e, shifts, X):
        y += (int(code) - q.zero_point) * Fraction(float(q.scale)) * Fraction(x) / 2 ** (s + ej)
    return y


@pytest.fixture(scope="module")
def problem():
    X, y = synthetic()
    coef, intercept = fit(X, y)
    return coef, intercept, X, y


@settings(max_examples=200, deadline=None, derandomize=True)
@given(bits=st.sampled_from(SWEEP_BITS), method=st.sampled_from(list(qz.METHODS)),
       rows=st.lists(st.lists(st.integers(-2 ** 31 + 1, 2 ** 31 - 1), min_size=8, max_size=8),
                     min_size=1, max_size=4),
       widen=st.floats(0.01, 100))
def test_kernel_is_within_its_rounding_of_exact_arithmetic(problem, bits, method, rows, widen):
    coef, intercept, X, y = problem
    q = qz.METHODS[method](coef, intercept, X, y, bits)
    shifts = integer.input_shifts(X.min(axis=0) * widen, X.max(axis=0) * widen)
    k = integer.kernel(q, shifts)
    Y = integer.predict(k, np.array(rows))
    R = float(q.scale) * 2.0 ** (integer.OUT - (k.shifts[0] + shifts[0] + (
        0 if q.exponents is None else int(q.exponents[0]))))
    for row, got in zip(rows, Y.tolist()):
        want = exact(q, shifts, row) * 2 ** integer.OUT
        # final rounding, one half-unit per right-shifted term and the intercept, and the
        # multiplier's relative error of at most 2**-32
        bound = 0.5 + (len(row) + 1) * R / 2 + (abs(want) + (len(row) + 1) * R) * 2 ** -32
        assert abs(got - want) <= bound


def test_every_method_and_width_agrees_with_the_float_path_on_data(problem):
    coef, intercept, X, y = problem
    shifts = integer.input_shifts(X.min(axis=0), X.max(axis=0))
    for bits in SWEEP_BITS:
        for name, q in qz.quantize_all(coef, intercept, X, y, bits).items():
            k = integer.kernel(q, shifts)
            fixed, fits = integer.to_fixed(k, X)
            assert fits.all()
            got = integer.predict(k, fixed) / 2 ** integer.OUT
            want = m.linear(*qparams.dequantize(q), X)
            # input rounding (half a step of each feature times its coefficient) and output
            assert np.abs(got - want).max() < 2e-5, (name, bits)


def test_predict_integer_prints_exact_decimals_of_the_kernel(capsys, monkeypatch, built):
    header = ",".join(store.load_model(built["quantized"]).features)
    text = header + "\n" + "\n".join(",".join(map(repr, r)) for r in ROWS.tolist()) + "\n"
    rc, out, err = run_predict(capsys, monkeypatch, built["quantized"], text.encode(),
                               "--integer")
    model = store.load_model(built["quantized"])
    Y = integer.predict(model.kernel, integer.to_fixed(model.kernel, ROWS)[0])
    assert rc == 0 and out.split() == [integer.decimal(v) for v in Y.tolist()]
    # and each within 2e-5 of the float path's prediction with the same parameters
    assert np.abs(np.array(out.split(), float) - model.coef @ ROWS.T - model.intercept).max() < 2e-5


def test_predict_integer_refuses_a_value_its_inputs_cannot_hold(capsys, monkeypatch, built):
    model = store.load_model(built["quantized"])
    row = ROWS[0].copy()
    row[4] = 1e12
    text = ",".join(model.features) + "\n" + ",".join(map(repr, row.tolist())) + "\n"
    low, high = integer.limits(model.kernel)
    rc, out, err = run_predict(capsys, monkeypatch, built["quantized"], text.encode(),
                               "--integer")
    assert (rc, out) == (2, "")
    assert err == (f"housing predict: error: <stdin>, line 2, column 'Population': expected "
                   f"a value the integer model's inputs hold, {low[4]:g} to {high[4]:g}, "
                   f"got 1e+12\n")
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], text.encode(), "--integer")
    assert rc == 2 and err.endswith(": --integer needs a quantized model, got a float one\n")
