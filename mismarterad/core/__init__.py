"""Fundamental values, interfaces and errors; imports nothing but the standard library."""

__all__: list[str] = []
