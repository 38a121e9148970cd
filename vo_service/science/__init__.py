"""Science tools on the atlas: similarity search, templates, line list, names."""
