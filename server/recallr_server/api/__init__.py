"""The gRPC surface: thin servicers over the store, plus the call plumbing."""
