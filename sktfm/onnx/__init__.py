"""ONNX export and serving: fitted sktfm models without torch.

:func:`export_onnx` writes a fitted estimator's network as ONNX graphs, with
its tokenizer and a small config, into a folder; :class:`OnnxPredictor`
serves that folder with ONNX Runtime, ``tokenizers`` and NumPy only. Both
need the ``onnx`` extra: ``pip install "sktfm[onnx]"``.
"""

from .export import export_onnx
from .predictor import OnnxPredictor

__all__ = ["OnnxPredictor", "export_onnx"]
