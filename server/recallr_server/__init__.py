"""Recallr server: long-term memory for AI assistants over gRPC."""

import os

# Must precede numpy's first import. The server already runs embeddings on a
# thread pool next to the gRPC loop; BLAS threads on top of that oversubscribe
# the cores and cut embedding throughput several-fold under load. An operator's
# own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
