"""Rendering of pipeline results for people and machines (signal view; later the daily desk report)."""
