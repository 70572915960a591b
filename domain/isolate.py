"""One pipeline's trouble stays that pipeline's: reports that span pipelines compute each in a
savepoint, and name the ones they could not compute instead of failing whole.

A stage with a threshold nobody could mean (left over from an import, say), a bug that one
pipeline's data brings out: the daily digest and the weekly summary still go out for every
other pipeline, and say which one is missing. The failure itself is a bug on our side and is
logged with its traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlmodel import Session

from storage.models import Pipeline

log = logging.getLogger(__name__)
T = TypeVar("T")


def each_pipeline(
    session: Session, pipelines: Iterable[Pipeline], compute: Callable[[Pipeline], T]
) -> tuple[list[tuple[Pipeline, T]], list[str]]:
    """``compute(pipeline)`` for each pipeline, each in its own savepoint. Returns the results
    and the names of the pipelines that failed (in order)."""
    done: list[tuple[Pipeline, T]] = []
    failed: list[str] = []
    for pipeline in pipelines:
        try:
            with session.begin_nested():
                done.append((pipeline, compute(pipeline)))
        except Exception:
            log.exception(
                "pipeline %s (%s) of workspace %s could not be computed",
                pipeline.id,
                pipeline.name,
                pipeline.workspace_id,
            )
            failed.append(pipeline.name)
    return done, failed
