"""Local servers that speak a venue's real protocol, for offline rehearsals and adapter tests."""

__all__: list[str] = []
