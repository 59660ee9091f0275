"""Operational scripts (`python scripts/stack.py`); a package so tests can import them."""
