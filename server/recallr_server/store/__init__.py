"""Persistence: every SQL statement, behind a repository per aggregate and a unit of
work; the SQLAlchemy models, the database handle and the migrations."""
