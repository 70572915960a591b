"""An import's report: the column mapping, what would change, and every invalid cell."""

from __future__ import annotations

from domain.fields import CellError
from i18n import t

MAX_ERRORS = 50  # listed; the count says how many more


def error_line(error: CellError, locale: str) -> str:
    reason = t(locale, error.key, **_params(error))
    return t(locale, "import.error_line", row=error.row, column=error.column, reason=reason)


def _params(error: CellError) -> dict:
    return {k: v for k, v in error.params.items() if k != "usage"}


def mapping_lines(prepared, locale: str) -> list[str]:
    headers = prepared.table.headers
    lines = [
        t(locale, "import.mapped", column=headers[i], field=spec.key)
        for i, spec in prepared.mapping.items()
    ]
    lines += [t(locale, "import.ignored", column=h) for h in prepared.ignored]
    return lines


def summary(prepared, locale: str) -> str:
    plan = prepared.plan
    return t(
        locale,
        "import.summary",
        rows=len(prepared.table.rows),
        create=plan.count("create"),
        update=plan.count("update"),
        skip=plan.count("skip"),
        invalid=len(plan.bad_rows),
    )


def report_lines(prepared, locale: str, *, dry_run: bool) -> list[str]:
    lines = [t(locale, "import.mapping_title"), *mapping_lines(prepared, locale)]
    lines.append(summary(prepared, locale))
    errors = prepared.plan.errors
    lines += [error_line(e, locale) for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        lines.append(t(locale, "import.more_errors", count=len(errors) - MAX_ERRORS))
    if dry_run:
        lines.append(t(locale, "import.dry_run"))
    return lines
