"""hub: a self-hosted, plugin-based observability hub."""

__version__ = "0.1.0"
