"""Pantry Chef realtime fan-out."""
