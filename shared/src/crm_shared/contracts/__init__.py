"""The published event contracts of every service, versioned; other systems read their schemas.

A contract lives here, not in its service, because producers and consumers in different
services must agree on it without importing each other.
"""
