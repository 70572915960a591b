"""Scheduled posts (docs/scheduled-posts.md): what is due (due), the jobs that record posts in the outbox
(jobs; they read through domain.deal_reads, domain.tasks and domain.weekly), the drain that
sends them (drain, delivery), and the APScheduler wiring and ``run_job`` (runner)."""
