"""Background memory engine: extraction, embeddings, consolidation and retrieval."""
