"""Pantry Chef search API."""
