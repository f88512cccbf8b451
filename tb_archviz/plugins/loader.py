"""Entry-point module for TensorBoard: the two loaders, importing almost nothing.

TensorBoard loads entry points unguarded, so an ImportError here takes the whole
``tensorboard`` command down. This module imports only ``base_plugin``; the plugins
themselves are imported lazily in ``load()``, where failures are caught and logged.
"""

from tensorboard.plugins import base_plugin

# Summary plugin names, repeated here (not imported) to keep this module import-light;
# tests check they equal tb_archviz.format's constants.
GRAPH_DATA = "archviz_graph"
HEALTH_DATA = "archviz_health"


def _keep_all_samples(flags) -> None:
    # Custom-plugin data is sampled to 10 (Python loader) or 100 (Rust server) values per
    # tag by default; architecture versions, statistics and anomalies must all survive.
    # A user's own --samples_per_plugin archviz_health=N still wins (setdefault).
    samples = getattr(flags, "samples_per_plugin", None)
    if samples is None:
        return
    samples.setdefault(GRAPH_DATA, 0)
    samples.setdefault(HEALTH_DATA, 0)


class ArchitectureLoader(base_plugin.TBLoader):
    """Loads the Architecture tab."""

    def fix_flags(self, flags):
        _keep_all_samples(flags)

    def load(self, context):
        from tb_archviz.plugins.architecture import ArchitecturePlugin

        return ArchitecturePlugin(context)


class TimelineLoader(base_plugin.TBLoader):
    """Loads the Anomaly Timeline tab."""

    def fix_flags(self, flags):
        _keep_all_samples(flags)

    def load(self, context):
        from tb_archviz.plugins.timeline import TimelinePlugin

        return TimelinePlugin(context)
