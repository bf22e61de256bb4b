"""The gate a candidate passes to become the champion, the model served: numbers alone,
no registry (``housing track`` asks it, and moves the alias).

A candidate is its pipeline's two models, their split and metrics.json. It passes when

  (a) its quantized model's test R² is within QUANTIZATION_LOSS of its float model's;
  (c) its integer kernel, as ``predict --integer`` runs it, gives the R² the report measured;
  (b) on the candidate's test split, its quantized model's R² is not below the champion's
      by more than STANDARD_ERRORS standard errors of the paired bootstrap over those rows.

(b) is fair only when the champion never saw those rows: a champion trained on the same
data set with another split (seed or test share) trained on some of them, and the gate
refuses unless forced. New data, which the champion never saw, compares normally.
"""
from typing import NamedTuple

from .model import checked_predict, predict
from .report import DIGITS, Bootstrap, r2

QUANTIZATION_LOSS = 0.001  # of test R², at most, from the float model to the quantized one
STANDARD_ERRORS = 2


class Verdict(NamedTuple):
    """What the gate says: whether the candidate becomes the champion, the lines it prints
    (champion against candidate), and, when it does not, why in one line."""
    promote: bool
    lines: list
    refusal: str = ""


class Candidate(NamedTuple):
    """A pipeline's outcome: its quantized model, its split (a store.Split) and its
    metrics.json."""
    quantized: object
    split: object
    metrics: dict


def unfair(candidate, champion):
    """Why the champion's R² on the candidate's test rows is not a fair comparison, or "":
    it was trained on the same data set split another way, so on some of those rows."""
    mine = candidate.split.lineage
    theirs = champion.lineage
    if mine.data_sha256 != theirs.data_sha256:
        return ""  # new data: the champion never saw it
    if (mine.seed, mine.test_size) == (theirs.seed, theirs.test_size):
        return ""  # the same split: the champion never saw its test rows
    return (f"the champion was trained on the same data set split another way (seed "
            f"{theirs.seed}, test share {theirs.test_size}; the candidate's: seed {mine.seed}, "
            f"test share {mine.test_size}), so on some of the candidate's test rows")


def judge(candidate, champion, force=False):
    """The Verdict on ``candidate`` against ``champion`` (a model.Model, or None when there
    is none yet); ``force`` promotes a candidate whose comparison is not fair."""
    scores = candidate.metrics
    loss = scores["float"]["r2"] - scores["quantized"]["r2"]
    if loss > QUANTIZATION_LOSS:
        return Verdict(False, [], f"its quantized model's test R² {scores['quantized']['r2']:.4f} "
                                  f"is {loss:.4f} below its float model's "
                                  f"{scores['float']['r2']:.4f}; expected at most "
                                  f"{QUANTIZATION_LOSS}")
    X = candidate.split.arrays["X_test"]
    y = candidate.split.arrays["y_test"]
    kernel = checked_predict(candidate.quantized, X, fixed=True)
    kernel_r2 = round(float(r2(y, kernel.y)), DIGITS) if not kernel.refused else None
    if kernel_r2 != scores["integer"]["r2"]:
        return Verdict(False, [], f"its integer kernel gives test R² {kernel_r2} as predict "
                                  f"--integer runs it, but the report measured "
                                  f"{scores['integer']['r2']}")
    mine = predict(candidate.quantized, X)
    if champion is None:
        return Verdict(True, [f"gate: no champion yet; the candidate's test R² "
                              f"{r2(y, mine):.4f}"])
    theirs = predict(champion, X)
    difference = r2(y, mine) - r2(y, theirs)
    se = Bootstrap(y, theirs).r2_change_se(mine)
    lines = [f"gate: on the candidate's {len(y):,} test rows: champion R² {r2(y, theirs):.4f}, "
             f"candidate R² {r2(y, mine):.4f}, difference {difference:+.4f} ± {se:.4f}"]
    why = unfair(candidate, champion)
    if why and not force:
        return Verdict(False, lines, f"not a fair comparison: {why}; --force promotes it "
                                     f"anyway, and says so in the registry")
    if why:  # forced: a comparison tilted towards the champion decides nothing
        return Verdict(True, lines + [f"gate: forced past an unfair comparison: {why}"])
    if difference < -STANDARD_ERRORS * se:
        return Verdict(False, lines, f"the candidate's R² is {-difference:.4f} below the "
                                     f"champion's, more than {STANDARD_ERRORS} standard errors "
                                     f"({STANDARD_ERRORS * se:.4f})")
    return Verdict(True, lines)

