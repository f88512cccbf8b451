"""Packaging for tb_archviz.

The reader side (``tb_archviz``: format, detectors, TensorBoard plugins, CLI) needs only
tensorboard and numpy; diagram export (``tb-archviz export``) also needs the ``[export]``
extra (mini-racer runs the tab's layout code, cairosvg rasterises). The training side
(``tb_archviz.callbacks``, source folder ``callbacks/``) needs torch and Lightning, which
users install themselves or through the ``[torch]`` extra. Install torch first
(``pip install torch==2.13.0``) so that pip never resolves a bare ``torch`` requirement to a
multi-GB CUDA build.

Lower bounds are the versions CI runs: ``scripts/test_oldest.sh`` installs tensorboard and numpy
at these bounds in a separate venv and runs the torch-free unit tests; the torch extra's
bounds are the versions the whole suite runs with (no older torch is tested).
"""

from setuptools import setup

setup(
    name="tb_archviz",
    version="0.1.0",
    description="See inside a network while it trains: architecture diagrams and an anomaly "
    "timeline for TensorBoard, fed by a PyTorch Lightning callback.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=["tb_archviz", "tb_archviz.plugins", "tb_archviz.rules", "tb_archviz.callbacks"],
    package_dir={"tb_archviz.callbacks": "callbacks"},
    package_data={
        "tb_archviz": ["static/*", "static/**/*", "http_api.md", "FORMAT.md", "js/*", "py.typed"]
    },
    include_package_data=True,
    install_requires=[
        "tensorboard>=2.14",
        "numpy>=1.23.5",
    ],
    extras_require={
        "torch": ["torch>=2.13,<3", "lightning>=2.6"],
        "export": ["mini-racer>=0.12", "cairosvg>=2.7"],
        "test": [
            "pytest>=7",
            "pytest-timeout>=2",
            "hypothesis>=6.100",
            "werkzeug>=2",
            "lightning>=2.6",
            "pytorch_lightning>=2.6",
            "transformers>=4.40",
            "mini-racer>=0.12",
            "cairosvg>=2.7",
            "ruff==0.17.6",  # exact: the formatter's output is checked in CI
            "mypy>=2.4",
        ],
    },
    entry_points={
        "console_scripts": ["tb-archviz = tb_archviz.cli:main"],
        "tensorboard_plugins": [
            "archviz_graph = tb_archviz.plugins.loader:ArchitectureLoader",
            "archviz_health = tb_archviz.plugins.loader:TimelineLoader",
        ],
    },
    classifiers=[
        "Framework :: Lightning",
        "License :: OSI Approved :: Apache Software License",
        "Typing :: Typed",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
