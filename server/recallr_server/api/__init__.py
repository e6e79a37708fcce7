"""The gRPC surface: servicers that parse the wire, call a use case and convert the
result, plus the call plumbing (auth metadata, page tokens, statuses, registration)."""
