import warnings

import numpy as np
import pytest

from housing import model as m
from housing import qparams
from housing import quantize as qz
from housing import store
from housing.config import SWEEP_BITS
from housing.quantize import METHODS
from housing.train import fit

from helpers import synthetic, write_split


@pytest.fixture(scope="module")
def problem():
    X, y = synthetic()
    coef, intercept = fit(X, y)
    return coef, intercept, X, y


def r2(y, pred):
    return 1 - np.mean((y - pred) ** 2) / np.var(y)


def out_of_range(q, coef):
    """Coefficients a symmetric grid clamps: |w| beyond its largest level."""
    return np.abs(coef) > qparams.qmax(q.bits) * qparams.steps(q) * (1 + 1e-12)


ROUNDING = [name for name in METHODS if name != "error-compensating"]


@pytest.mark.parametrize("method", ROUNDING)
@pytest.mark.parametrize("bits", SWEEP_BITS)
def test_rounding_methods_stay_within_half_a_step_and_keep_zero_exact(problem, method, bits):
    coef, intercept, X, y = problem
    coef = coef.copy()
    coef[2] = 0.0  # zero must come back exactly
    q = qz.quantize(method, coef, intercept, X, y, bits)
    w_hat, _ = qparams.dequantize(q)
    assert w_hat[2] == 0.0 and q.codes[2] == q.zero_point  # zero in, zero out
    inside = ~out_of_range(q, coef) if q.symmetric else np.ones(8, bool)
    assert (np.abs(w_hat - coef)[inside] <= qparams.steps(q)[inside] / 2 * (1 + 1e-9)).all()
    # a clamped coefficient sits on the grid's last level, on its own side
    k = qparams.qmax(bits)
    assert (np.abs(q.codes[~inside] - q.zero_point) == k).all()
    assert (0 <= q.codes).all() and (q.codes < 2 ** bits).all()


@pytest.mark.parametrize("bits", SWEEP_BITS)
def test_error_compensation_keeps_codes_on_the_grid_and_zero_exact(problem, bits):
    coef, intercept, X, y = problem
    q = qz.error_compensating(coef, intercept, X, y, bits)
    assert (0 <= q.codes).all() and (q.codes < 2 ** bits).all()
    assert q.zero_point == 2 ** (bits - 1) - 1  # the symmetric grid's zero, by the layout
    # a coefficient whose code is the zero point dequantizes to exactly 0.0, by hand
    codes = np.where(np.arange(8) % 2 == 0, q.zero_point, q.codes)
    by_hand = (codes - q.zero_point) * float(q.scale) / 2.0 ** q.exponents.astype(float)
    same = qparams.Quantized(q.method, bits, codes, q.scale, q.zero_point, q.intercept, q.exponents)
    np.testing.assert_array_equal(qparams.dequantize(same)[0], by_hand)
    assert (qparams.dequantize(same)[0][::2] == 0.0).all()


def test_error_compensation_known_answer():
    # Two features with H = [[1, .5], [.5, 1]], a 3-bit grid of step 0.25 (levels -0.75 to
    # 0.75). w1 = 0.6 rounds to 0.5 (error 0.1); the least-squares fix of w2 for that error
    # is w2 + H12 / H22 * 0.1 = 0.6 + 0.05 = 0.65, which rounds to 0.75 - where plain
    # rounding of 0.6 gives 0.5 (and half the fix, 0.625, would round to even: 0.5).
    H = np.array([[1.0, 0.5], [0.5, 1.0]])
    codes, exponents, values = qz.gptq(np.array([0.6, 0.6]), np.array([0, 0]),
                                        np.array([0.25]), 3, H)
    np.testing.assert_allclose(values[0], [0.5, 0.75], rtol=1e-12)
    assert codes[0].tolist() == [3 + 2, 3 + 3] and exponents[0].tolist() == [0, 0]
    plain = qz.round_to_grid(np.array([0.6, 0.6]), np.array([0, 0]), 0.25, 3)[2]
    np.testing.assert_allclose(plain, [0.5, 0.5], rtol=1e-12)


@pytest.mark.parametrize("bits", [2, 3, 8, 16])
def test_minmax_bound_is_half_a_step_everywhere(bits):
    w = np.random.default_rng(bits).normal(size=20)
    q = qz.minmax(w, 1.0, None, None, bits)
    assert np.abs(qparams.dequantize(q)[0] - w).max() <= float(q.scale) / 2 * (1 + 1e-6)


def test_minmax_known_answer():
    # range [-1, 2] widened to include 0 already; 2 bits: 3 steps of 1.0, zero point 1
    q = qz.minmax(np.array([-1.0, 0.0, 0.4, 0.6, 2.0]), 5.0, None, None, 2)
    assert q.scale == np.float32(1.0) and q.zero_point == 1
    np.testing.assert_array_equal(q.codes, [0, 1, 1, 2, 3])
    np.testing.assert_array_equal(qparams.dequantize(q)[0], [-1.0, 0.0, 0.0, 1.0, 2.0])
    assert qparams.dequantize(q)[1] == 5.0


def test_symmetric_grid_known_answer():
    # one feature of unit spread: exponent 0; 3 bits: levels -3..3, scale max|w|/3
    X = np.random.default_rng(0).choice([-1.0, 1.0], size=(1000, 1))
    w = np.array([0.9])
    codes, e, values = qz.round_to_grid(w, np.array([0]), 0.3, 3)
    assert (codes, e, values) == ([6], [0], [pytest.approx(0.9)])
    # a small coefficient gets a finer power-of-two step instead of rounding to zero
    codes, e, values = qz.round_to_grid(np.array([0.05]), np.array([0]), 0.3, 3)
    # 3 * 0.3 / 2**4 >= 0.05: exponent 4; 0.05 * 16 / 0.3 = 2.67 -> 3 steps of 0.3 / 16
    assert e[0] == 4 and values[0] == pytest.approx(3 * 0.3 / 16)
    q = qz.standardized(w, 0.0, X, X[:, 0] * 0.9, 3)
    assert qparams.dequantize(q)[0][0] == pytest.approx(0.9, rel=1e-6)


@pytest.mark.parametrize("bits", SWEEP_BITS)
def test_error_compensating_never_worse_than_rounding_on_training_objective(problem, bits):
    coef, intercept, X, y = problem
    rtn = qz.standardized(coef, intercept, X, y, bits)
    gptq = qz.error_compensating(coef, intercept, X, y, bits)
    assert (qz.train_objective(gptq, coef, intercept, X)
            <= qz.train_objective(rtn, coef, intercept, X) * (1 + 1e-9))


def test_error_compensation_absorbs_a_correlated_error():
    # two nearly identical features: rounding one, GPTQ moves the other to compensate
    rng = np.random.default_rng(1)
    x = rng.normal(size=5000)
    X = np.column_stack([x, x + 0.05 * rng.normal(size=5000)])
    coef = np.array([0.33, 0.33])
    H = np.cov(X.T, bias=True)
    codes, e, values = qz.gptq(coef, np.array([0, 0]), np.array([0.25]), 3, H)
    rtn = qz.round_to_grid(coef, np.array([0, 0]), 0.25, 3)[2]
    loss = [(v - coef) @ H @ (v - coef) for v in (values[0], rtn)]
    assert loss[0] < loss[1] / 2


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_bias_correction_is_a_least_squares_refit_of_the_intercept(problem, bits):
    coef, intercept, X, y = problem
    q = qz.bias_corrected(coef, intercept, X, y, bits)
    w_hat, b_hat = qparams.dequantize(q)
    (reference,), *_ = np.linalg.lstsq(np.ones((len(X), 1)), y - X @ w_hat, rcond=None)
    assert b_hat == pytest.approx(reference, abs=1e-5)  # stored as float32
    np.testing.assert_array_equal(q.codes, qz.minmax(coef, intercept, X, y, bits).codes)


def test_training_objective_is_the_increase_in_training_mse(problem):
    coef, intercept, X, y = problem
    q = qz.standardized(coef, intercept, X, y, 3)
    w_hat, b_hat = qparams.dequantize(q)
    increase = np.mean((X @ w_hat + b_hat - y) ** 2) - np.mean((X @ coef + intercept - y) ** 2)
    assert qz.train_objective(q, coef, intercept, X) == pytest.approx(increase, rel=1e-6)


@pytest.mark.parametrize("bits, floor", [(8, 0.001), (4, 0.01), (3, 0.03), (2, 0.06)])
def test_auto_keeps_the_model(problem, bits, floor):
    # the R² drop promised in the README, on housing-shaped synthetic data
    coef, intercept, X, y = problem
    q = qz.quantize(qz.AUTO, coef, intercept, X, y, bits)
    w_hat, b_hat = qparams.dequantize(q)
    assert r2(y, X @ coef + intercept) - r2(y, X @ w_hat + b_hat) < floor


def test_minmax_without_bias_correction_collapses_like_published_versions(problem):
    # why the other methods exist: the intercept fixed, 3-bit codes, features near -120
    coef, intercept, X, y = problem
    w_hat, b_hat = qparams.dequantize(qz.minmax(coef, intercept, X, y, 3))
    assert r2(y, X @ w_hat + b_hat) < 0


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bits", range(2, 17))
def test_payload_round_trips_through_bytes(problem, method, bits):
    coef, intercept, X, y = problem
    q = qz.quantize(method, coef, intercept, X, y, bits)
    payload = qparams.encode(q)
    assert len(payload) == sum(size for _, size in qparams.layout((method in ("standardized", "error-compensating")), bits, 8))
    back = qparams.decode(payload, method, (method in ("standardized", "error-compensating")), bits, 8)
    np.testing.assert_array_equal(qparams.dequantize(back)[0], qparams.dequantize(q)[0])
    assert qparams.dequantize(back)[1] == qparams.dequantize(q)[1]


def test_payload_sizes_at_the_targets():
    assert [qparams.payload_bytes(True, b, 8) for b in (8, 4, 3, 2)] \
        == [24, 20, 19, 18]


@pytest.mark.parametrize("bits", range(1, 17))
def test_bit_packing_round_trip(bits):
    codes = np.random.default_rng(bits).integers(0, 2 ** bits, size=13)
    packed = qparams.pack_bits(codes, bits)
    assert len(packed) == -(-13 * bits // 8)
    np.testing.assert_array_equal(qparams.unpack_bits(packed, bits, 13), codes)


def test_auto_is_chosen_without_the_test_split(tmp_path, built):
    # replace the test split with garbage: auto must pick the same model, byte for byte
    lineage, split = store.load_split(built["split"])
    split["X_test"] = np.full_like(split["X_test"], 1e6)
    split["y_test"] = -split["y_test"]
    poisoned = tmp_path / "poisoned.npz"
    store.save_split(poisoned, lineage, "MedHouseVal", split)
    out = tmp_path / "q.npz"
    assert qz.main(["--model", str(built["float"]), "--data", str(poisoned),
                    "--out", str(out)]) == 0
    assert out.read_bytes() == built["quantized"].read_bytes()


@pytest.mark.parametrize("args, message", [
    (["--bits", "1"], "--bits should be from 2 to 16, got 1"),
    (["--bits", "17"], "--bits should be from 2 to 16, got 17"),
    (["--method", "kmeans"], "--method must be auto or one of minmax, bias-corrected, "
                             "standardized, error-compensating, got 'kmeans'"),
])
def test_bad_arguments_get_one_line_and_write_nothing(tmp_path, capsys, built, args, message):
    out = tmp_path / "q.npz"
    rc = qz.main(args + ["--model", str(built["float"]), "--data", str(built["split"]),
                         "--out", str(out)])
    assert rc == 2 and capsys.readouterr().err == f"housing quantize: error: {message}\n"
    assert not out.exists()


def test_a_model_from_another_split_is_refused(tmp_path, capsys, built):
    other = write_split(tmp_path / "split7.npz", *synthetic(), seed=7)
    assert qz.main(["--model", str(built["float"]), "--data", str(other),
                    "--out", str(tmp_path / "q.npz")]) == 2
    assert "was trained on another split than" in capsys.readouterr().err


def test_minmax_known_answers_at_three_bits():
    # [-1, 2.5] on 2**3 - 1 = 7 steps of 0.5, zero point 1 / 0.5 = 2
    q = qz.minmax(np.array([-1.0, 0.0, 0.3, 2.5]), 4.0, None, None, 3)
    assert (q.method, float(q.scale), q.zero_point) == ("minmax", 0.5, 2)
    assert q.codes.tolist() == [0, 2, 3, 7] and q.codes.dtype == np.int64
    np.testing.assert_array_equal(qparams.dequantize(q)[0], [-1.0, 0.0, 0.5, 2.5])
    # all positive: the range still starts at 0, so zero is code 0; 1.0 / 7 per step
    q = qz.minmax(np.array([0.3, 1.0]), 0.0, None, None, 3)
    assert q.zero_point == 0 and q.codes.tolist() == [2, 7]  # 0.3 * 7 = 2.1
    assert float(q.scale) == pytest.approx(1 / 7)
    # all negative: the range ends at 0
    q = qz.minmax(np.array([-1.0, -0.3]), 0.0, None, None, 3)
    assert q.zero_point == 7 and q.codes.tolist() == [0, 5]  # -2.1 + 7
    # all zero: no range at all; a unit scale, and zero stays exact
    q = qz.minmax(np.zeros(3), 0.0, None, None, 3)
    assert float(q.scale) == 1.0 and qparams.dequantize(q)[0].tolist() == [0.0, 0.0, 0.0]


def test_bias_corrected_keeps_its_name():
    X = np.random.default_rng(0).normal(size=(100, 2))
    q = qz.bias_corrected(np.array([0.5, -0.25]), 1.0, X, X @ [0.5, -0.25] + 1.0, 4)
    assert q.method == "bias-corrected"


def test_spread_exponents_known_answers():
    # columns with standard deviation 0 (constant), 1, 8, 0.25 and 3 (log2 = 1.58 -> 2)
    base = np.array([-1.0, 1.0] * 50)
    X = np.column_stack([np.full(100, 7.0), base, 8 * base, 0.25 * base, 3 * base])
    assert qz.spread_exponents(X).tolist() == [0, 0, 3, -2, 2]


def test_exponents_stay_within_an_int8_and_rounding_clamps_both_ends():
    # a coefficient of 1e-60 fits at any exponent: capped at 127; a floor of -300 at -127
    assert qz.grid_exponents(np.array([1e-60]), np.array([0]), 1.0, 8).tolist() == [127]
    assert qz.grid_exponents(np.array([1e60]), np.array([-300]), 1.0, 8).tolist() == [-127]
    # 3 bits: levels -3..3 (codes 0..6); far beyond the grid on either side, the end codes
    codes, e, values = qz.round_to_grid(np.array([-100.0, 100.0]), np.array([0, 0]), 1.0, 3)
    assert codes.tolist() == [0, 6] and codes.dtype == np.int64 and e.tolist() == [0, 0]
    np.testing.assert_array_equal(values, [-3.0, 3.0])


def gptq_by_least_squares(w, H, step, bits):
    """GPTQ's answer re-derived directly: at each step, the coefficients not yet quantized
    are the least-squares fit, under H, given those already fixed; then the next rounds to
    the grid (one shared step, exponent 0)."""
    n, k = len(w), 2 ** (bits - 1) - 1
    q = np.zeros(n)
    for i in range(n):
        fixed, free = np.arange(i), np.arange(i, n)
        v = w[free] - np.linalg.solve(H[np.ix_(free, free)],
                                      H[np.ix_(free, fixed)] @ (q[fixed] - w[fixed]))
        q[i] = np.clip(np.round(v[0] / step), -k, k) * step
    return q


@pytest.mark.parametrize("bits, step, seed, w", [
    (3, 0.25, 4, [0.55, -0.5, 0.62, 0.51]),
    (16, 0.75 / 32767, 4, [0.55, -0.5, 0.62, 0.51]),
    # one where the later steps' compensation moves codes, clamped at the grid's end
    (4, 0.1, 11, [0.604, 0.559, -0.647, -0.569]),
])
def test_error_compensation_matches_the_least_squares_derivation(bits, step, seed, w):
    # the grids top out near 0.7, so no coefficient here earns a finer exponent
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(4, 4))
    H = A @ A.T + 0.5 * np.eye(4)  # correlated features
    w = np.array(w)
    codes, exponents, values = qz.gptq(w, np.zeros(4, int), np.array([step]), bits, H)
    assert exponents.tolist() == [[0, 0, 0, 0]]
    np.testing.assert_allclose(values[0], gptq_by_least_squares(w, H, step, bits),
                               rtol=1e-9, atol=step * 1e-6)


def test_error_compensation_with_a_constant_feature():
    # H_22 = 0: the damping keeps H invertible, and the constant feature's coefficient
    # still quantizes like plain rounding
    H = np.array([[1.0, 0.0], [0.0, 0.0]])
    codes, exponents, values = qz.gptq(np.array([0.6, 0.3]), np.array([0, 0]),
                                        np.array([0.25]), 3, H)
    np.testing.assert_allclose(values[0], [0.5, 0.25], rtol=1e-12)


def test_minmax_clips_a_code_that_two_half_steps_round_past_the_grid():
    # 2 bits, coefficients -1.5 and 1.5: levels 3, scale 3 / 3 = 1, zero point round(1.5) = 2
    # (half to even); 1.5's code round(1.5) + 2 = 4 is past the last level, so it is 3
    q = qz.minmax(np.array([-1.5, 1.5]), 0.0, None, None, 2)
    assert (q.codes.tolist(), float(q.scale), q.zero_point) == ([0, 3], 1.0, 2)
    assert qparams.dequantize(q)[0].tolist() == [-2.0, 1.0]


@pytest.mark.parametrize("method", METHODS)
def test_a_constant_target_quantizes_to_zero_coefficients_and_its_value(method):
    # y is 2.5 everywhere: least squares gives coefficients of 0 and an intercept of 2.5,
    # which every method must keep exactly (a grid of zero width must not become a 0 scale)
    X = np.random.default_rng(0).normal(size=(50, 3))
    q = qz.quantize(method, np.zeros(3), 2.5, X, np.full(50, 2.5), 8)
    dequantized = qparams.dequantize(q)
    assert dequantized[0].tolist() == [0.0, 0.0, 0.0] and dequantized[1] == 2.5


@pytest.mark.parametrize("bits", [2, 3])
def test_error_compensation_does_better_than_rounding_where_it_can(problem, bits):
    # on the housing-shaped problem at 2 and 3 bits, compensation finds a better model than
    # any rounding on the same grids (at other widths the two tie)
    coef, intercept, X, y = problem
    standard = qz.standardized(coef, intercept, X, y, bits)
    compensated = qz.error_compensating(coef, intercept, X, y, bits)
    assert compensated.method == "error-compensating"
    assert (qz.train_objective(compensated, coef, intercept, X)
            < qz.train_objective(standard, coef, intercept, X))


def test_payload_bytes_by_hand():
    # little-endian bit order, each code's lowest bit first: 1 -> 1,0; 2 -> 0,1; 3 -> 1,1,
    # so the byte is 0b111001 = 57
    assert qparams.pack_bits([1, 2, 3], 2) == bytes([57])
    # scale 0.5 and intercept 1.0 as little-endian float32, exponents 1 and -1 as int8,
    # then the 3-bit codes 6 (0,1,1) and 0 (0,0,0): 0b000110 = 6
    q = qparams.Quantized("standardized", 3, np.array([6, 0]), np.float32(0.5), 3, np.float32(1.0),
                    np.array([1, -1], np.int8))
    payload = qparams.encode(q)
    assert payload == bytes.fromhex("0000003f" "0000803f" "01ff" "06")
    back = qparams.decode(payload, "standardized", True, 3, 2)
    assert back.method == "standardized" and back.codes.dtype == np.int64
    assert back.codes.tolist() == [6, 0] and back.exponents.tolist() == [1, -1]
    # (6 - 3) * 0.5 * 2**-1 and (0 - 3) * 0.5 * 2**1
    coef, intercept = qparams.dequantize(back)
    assert coef.tolist() == [0.75, -3.0] and intercept == 1.0
    mm = qparams.decode(qparams.encode(qz.minmax(np.array([-1.0, 0.0, 0.3, 2.5]), 4.0, None, None, 3)),
                  "minmax", False, 3, 4)
    assert mm.method == "minmax" and mm.zero_point == 2 and mm.codes.tolist() == [0, 2, 3, 7]


def test_a_payload_of_the_wrong_size_and_a_code_too_wide():
    with pytest.raises(ValueError) as e:
        qparams.decode(b"\0" * 23, "error-compensating", True, 8, 8)
    assert str(e.value) == ("expected 24 payload bytes for 8 coefficients at 8 bits "
                            "(error-compensating), got 23")
    with pytest.raises(AssertionError):
        qparams.pack_bits([4], 2)  # 2 bits hold 0 to 3


def test_prediction_overflow_is_inf_without_a_warning():
    coef = np.array([1.0, 1.0])
    X = np.full((m.SMALL + 1, 2), 1.7e308)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(m.linear(coef, 0.0, X)).all() and np.isinf(m.linear(coef, 0.0, X[:2])).all()
