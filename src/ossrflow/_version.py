"""The package version, in one place (read by hatch, the CLI and the HTTP User-Agent)."""

__version__ = "0.1.0"
