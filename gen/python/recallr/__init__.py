"""Generated Recallr API; the import path equals the proto package."""
