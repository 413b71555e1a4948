"""Use cases of the contacts service: load, decide, save."""
