"""Datasets: public-domain corpora fetched once and cached (see corpora.py)."""
from .corpora import DownloadError, bible, cache_dir, shakespeare, shakespeare_works

__all__ = ["DownloadError", "bible", "cache_dir", "shakespeare", "shakespeare_works"]
