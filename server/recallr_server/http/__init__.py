"""The RecallrAI HTTP API: a transcoding facade over the same use cases as the gRPC API.

It lets the unchanged official RecallrAI SDK (which speaks HTTP/JSON to a `base_url`) use
a self-hosted Recallr. Like api/, it parses and converts and holds no rules of its own:
routes.py and context.py map each route onto a use case, schemas.py declares the JSON
shapes (the OpenAPI document is generated from them, openapi.py), convert.py turns domain
records into them, errors.py is the one table from a domain error to an HTTP status and
the `detail` the SDK reads, and server.py serves it all beside gRPC.
"""
