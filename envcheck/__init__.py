"""gpu-envkit's checker: is this GPU machine ready, and if not, exactly what to fix."""

__version__ = "0.1.0"
