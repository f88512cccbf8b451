"""tb_archviz: architecture diagrams and an anomaly timeline for TensorBoard.

This package is the reader side (format, detectors, TensorBoard plugins, CLI) and imports
no torch. The training side lives in :mod:`tb_archviz.callbacks`.
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"


def _find_callbacks_in_source_tree() -> None:
    """Let a source checkout import ``tb_archviz.callbacks``.

    ``setup.py`` installs the folder ``callbacks/`` as ``tb_archviz.callbacks``. Run Python
    from the repository root with a regular (non-editable) install, and this source folder
    ``tb_archviz/`` shadows the installed package; it has no ``callbacks/`` inside, so
    ``from tb_archviz.callbacks import ArchVizCallback`` failed. Here the sibling folder is
    found instead, lazily (nothing of it, and no torch, is imported until asked for).
    """
    here = _os.path.dirname(_os.path.abspath(__file__))
    if _os.path.isdir(_os.path.join(here, "callbacks")):
        return  # an installed package: callbacks/ is inside
    src = _os.path.join(_os.path.dirname(here), "callbacks")
    if not _os.path.isfile(_os.path.join(src, "__init__.py")):
        return
    import importlib.abc
    import importlib.util

    class _SourceTreeCallbacks(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname != __name__ + ".callbacks":
                return None
            return importlib.util.spec_from_file_location(
                fullname, _os.path.join(src, "__init__.py"), submodule_search_locations=[src]
            )

    if not any(type(f).__name__ == "_SourceTreeCallbacks" for f in _sys.meta_path):
        _sys.meta_path.append(_SourceTreeCallbacks())


_find_callbacks_in_source_tree()
