"""Evaluation: corpus BLEU and chrF (equal to sacrebleu's defaults) and sliding-window perplexity."""
from .bleu import BLEUScore, CHRFScore, bleu, chrf, tokenize_13a
from .perplexity import perplexity

__all__ = ["BLEUScore", "CHRFScore", "bleu", "chrf", "perplexity", "tokenize_13a"]
