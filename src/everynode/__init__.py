"""everynode: Kubernetes DaemonSets implemented in Python."""

__version__ = "0.1.0"
