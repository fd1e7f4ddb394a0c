"""Alembic migrations of the main database, named by date."""
