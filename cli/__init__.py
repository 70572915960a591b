"""Command-line entry points: ``salesbot serve | socket | console | demo | db | jobs | scheduler``."""
