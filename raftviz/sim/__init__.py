"""The deterministic simulated cluster: virtual time, network, history, safety monitor."""
from .cluster import Cluster, Trace

__all__ = ["Cluster", "Trace"]
