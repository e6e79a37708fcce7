"""The product's use cases and rules, on plain typed values: no wire, no SQL.

One module per resource (users, sessions, messages, memories, merge_conflicts,
categories, context, auth) over the records in records.py; the store and the engine are
reached through the protocols in ports.py (and context.Recaller), which app.py wires in.
"""
