"""One module per page; each exposes ``PAGE`` (route, component, title, on_load)."""
