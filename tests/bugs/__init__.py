"""A benchmark of realistic training bugs.

Each scenario is a tiny model on synthetic data with a ``buggy`` and a ``fixed`` variant that
differ only by one bug drawn from the published collections of real faults (Humbatova et al.'s
taxonomy, AUTOTRAINER, DeepDiagnosis, DeepFD, UMLAUT, TrainCheck). The harness trains both
with a plain PyTorch loop, checks that the bug really shows (so a miss is the monitor's), trains
the buggy variant under :class:`tb_archviz.callbacks.ArchVizRecorder`, reads the findings the
way ``tb-archviz inspect --json`` does and scores them. Healthy modern setups must stay quiet.

- :mod:`tests.bugs.core`: the one training loop, the data and the small model builders;
- :mod:`tests.bugs.scenarios`: the bug scenarios (``SCENARIOS``);
- :mod:`tests.bugs.healthy`: the healthy setups (``HEALTHY``);
- :mod:`tests.bugs.harness`: run, check and score one scenario or setup.

``python benchmarks/bugs.py`` runs everything and prints the table.
"""
