"""Recallr server: long-term memory for AI assistants over gRPC."""

__version__ = "0.1.0"
