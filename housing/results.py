"""metrics.json, read back: what ``housing report`` measured, for the model card, the
demo and the README's tables. The standard library only."""
import json

from .cli import UserError, display, how_to_build

KEYS = ("split", "float", "quantized", "sweep", "resamples")


def read_text(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise UserError(f"{display(path)}: no such file; expected {what}") from None
    except OSError as e:
        raise UserError(f"{display(path)}: cannot read ({e.strerror}); expected {what}") from None


def load_metrics(path):
    text = read_text(path, f"metrics written by `housing report` (run {how_to_build()})")
    try:
        metrics = json.loads(text)
        for key in KEYS:
            metrics[key]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise UserError(f"{display(path)}: not metrics written by `housing report` ({e}); "
                        f"run {how_to_build()}") from None
    return metrics
