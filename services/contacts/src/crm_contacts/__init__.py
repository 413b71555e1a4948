"""The contacts service: one trusted, event-sourced record of every person."""
