"""Weight files: safetensors (``load_file``, ``save_file``, lazy ``SafetensorsFile``)."""
from .safetensors import SafetensorsError, SafetensorsFile, load_file, save_file

__all__ = ["SafetensorsError", "SafetensorsFile", "load_file", "save_file"]
