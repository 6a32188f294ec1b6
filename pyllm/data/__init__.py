"""Datasets: public-domain corpora fetched once and cached (corpora.py), token files and random-window LM
batches (tokens.py), bucketed sentence-pair batches for translation (pairs.py)."""
from .corpora import DownloadError, bible, bible_en_es, cache_dir, shakespeare, shakespeare_works
from .pairs import PairBatch, PairDataset
from .tokens import TokenDataset, prepare_tokens, read_meta

__all__ = ["DownloadError", "PairBatch", "PairDataset", "TokenDataset", "bible", "bible_en_es", "cache_dir",
           "prepare_tokens", "read_meta", "shakespeare", "shakespeare_works"]
