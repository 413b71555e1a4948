"""HTTP API and process entry points of the contacts service."""
