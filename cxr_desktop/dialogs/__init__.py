"""Windows of their own: About, batch folder scan."""
