import numpy as np
import pytest

from housing.train import fit

from helpers import TRUE_COEF, TRUE_INTERCEPT, synthetic


def test_known_answer_is_recovered_exactly():
    # y = 3 + 1*x0 + 2*x1, no noise: the fit must give exactly these numbers back
    X = np.random.default_rng(0).normal(size=(50, 2))
    coef, intercept = fit(X, 3 + X @ [1.0, 2.0])
    np.testing.assert_allclose(coef, [1.0, 2.0], atol=1e-12)
    assert intercept == pytest.approx(3.0, abs=1e-12)


def test_hand_solved_normal_equations():
    # x = 0, 1, 2, 3 and y = 1, 3, 2, 5: slope = Sxy / Sxx = 5.5 / 5 = 1.1,
    # intercept = mean(y) - 1.1 * mean(x) = 2.75 - 1.65 = 1.1
    coef, intercept = fit(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([1.0, 3.0, 2.0, 5.0]))
    np.testing.assert_allclose(coef, [1.1], rtol=1e-14)
    assert intercept == pytest.approx(1.1, rel=1e-14)


def test_noisy_synthetic_recovers_true_coefficients():
    X, y = synthetic(n=20000, noise=0.01)
    coef, intercept = fit(X, y)
    np.testing.assert_allclose(coef, TRUE_COEF, rtol=1e-3, atol=1e-6)
    assert intercept == pytest.approx(TRUE_INTERCEPT, abs=0.01)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_matches_lstsq_with_a_column_of_ones(seed):
    X, y = synthetic(n=500, seed=seed)
    A = np.column_stack([X, np.ones(len(X))])
    reference, *_ = np.linalg.lstsq(A, y, rcond=None)
    coef, intercept = fit(X, y)
    # Population's coefficient is 2e-6: compare predictions, which is what matters
    np.testing.assert_allclose(X @ coef + intercept, A @ reference, atol=1e-8)
    np.testing.assert_allclose(coef, reference[:-1], rtol=1e-6)
