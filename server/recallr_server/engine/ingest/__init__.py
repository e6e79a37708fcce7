"""Turning messages into memories: the job worker, processing a session (extraction,
consolidation, the plan and applying it) and resolving merge conflicts."""
