"""tb_archviz: architecture diagrams and an anomaly timeline for TensorBoard.

This package is the reader side (format, detectors, TensorBoard plugins, CLI) and imports
no torch. The training side lives in :mod:`tb_archviz.callbacks`.
"""
__version__ = "0.1.0"
