"""Pantry Chef recipe engine."""
