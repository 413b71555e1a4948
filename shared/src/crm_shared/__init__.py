"""Event contracts and platform mechanisms shared by every CRM service.

Nothing here belongs to one service's domain: services import this package, never each other.
"""
