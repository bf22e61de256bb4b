"""California Housing linear regression, trained, quantized, reported and served.

Each stage is a module with ``main(argv) -> int``; ``python -m housing <stage>`` runs it.
Nothing here imports scikit-learn at import time: only the data and train stages need it.
"""
__version__ = "0.4.0"
