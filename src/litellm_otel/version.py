"""The package version: read by the build backend, reported as the instrumentation scope version."""

__version__ = "0.1.0"
