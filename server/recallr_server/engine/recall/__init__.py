"""Finding and rendering context: the per-user index, understanding the conversation,
ranking, the agentic rounds and the context text."""
