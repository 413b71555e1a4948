"""The sales domain: plain Python, no I/O."""
