"""Scheduled posts (PRODUCT.md §4): what is due (due), the reads (queries), the jobs that record
posts in the outbox (jobs, weekly), the drain that sends them (drain, delivery), and the
APScheduler wiring and ``run_job`` (runner)."""
