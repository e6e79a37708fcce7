"""The model provider: chat and embedding models behind an OpenAI-compatible API, their
versioned prompts, and the prompt plumbing both wings share."""
