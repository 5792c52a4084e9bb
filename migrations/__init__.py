"""Alembic migrations; revisions are named by date."""
