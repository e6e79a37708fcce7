"""The memory engine in two wings, `ingest` (messages into memories) and `recall` (context
for a conversation), which never import each other, and the pieces both use: embeddings,
the model provider, dates and times, stored vectors and the conversation's messages."""
