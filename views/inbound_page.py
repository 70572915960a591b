"""The hosted lead form, ``GET /forms/<key>``: one plain HTML page in the workspace's
language, no script, no outside resources, small enough to embed in an ``<iframe>``.

It posts to ``/leads/<key>`` with its form token and a honeypot field (``website``) that
people never see and bots fill in (docs/inbound.md). After a post the same page says thanks,
or shows what to fix above the form with what was typed kept.
"""

from __future__ import annotations

from html import escape

from i18n import t

FIELDS = (  # (name, input type, required)
    ("name", "text", True),
    ("email", "email", False),
    ("company", "text", False),
    ("title", "text", False),
    ("phone", "tel", False),
    ("notes", "textarea", False),
)
STYLE = """
body{font-family:system-ui,-apple-system,"Apple SD Gothic Neo","Malgun Gothic",sans-serif;
max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1d1c1d}
label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input,textarea{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;
border:1px solid #bbb;border-radius:4px}
textarea{min-height:6rem}
button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit;font-weight:600;color:#fff;
background:#007a5a;border:0;border-radius:4px;cursor:pointer}
.trap{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
.errors{background:#fdecea;border:1px solid #e0a5a0;padding:.6rem 1rem;border-radius:4px}
"""


def page(
    *,
    key: str,
    token: str,
    locale: str,
    title: str,
    values: dict[str, str] | None = None,
    problems: list[str] | None = None,
    thanks: bool = False,
) -> str:
    """The form (or, after a good post, the thanks), as one HTML document."""
    lang = "ko" if locale == "ko" else "en"
    heading = escape(t(locale, "inbound.form.heading", name=title))
    if thanks:
        body = f"<h1>{heading}</h1><p>{escape(t(locale, 'inbound.form.thanks'))}</p>"
        return _document(lang, heading, body)
    values = values or {}
    parts = [f"<h1>{heading}</h1>", f"<p>{escape(t(locale, 'inbound.form.intro'))}</p>"]
    if problems:
        items = "".join(f"<li>{escape(p)}</li>" for p in problems)
        parts.append(f'<div class="errors" role="alert"><ul>{items}</ul></div>')
    parts.append(f'<form method="post" action="/leads/{escape(key)}" accept-charset="UTF-8">')
    parts.append(f'<input type="hidden" name="form_token" value="{escape(token)}">')
    for name, kind, required in FIELDS:
        label = escape(t(locale, f"inbound.form.{name}"))
        value = escape(values.get(name, ""))
        need = " required" if required else ""
        parts.append(f'<label for="f-{name}">{label}</label>')
        if kind == "textarea":
            parts.append(f'<textarea id="f-{name}" name="{name}"{need}>{value}</textarea>')
        else:
            parts.append(f'<input id="f-{name}" type="{kind}" name="{name}" value="{value}"{need}>')
    trap = escape(t(locale, "inbound.form.trap"))
    parts.append(
        f'<div class="trap" aria-hidden="true"><label for="f-website">{trap}</label>'
        '<input id="f-website" type="text" name="website" tabindex="-1" autocomplete="off">'
        "</div>"
    )
    parts.append(f'<button type="submit">{escape(t(locale, "inbound.form.send"))}</button>')
    parts.append("</form>")
    return _document(lang, heading, "".join(parts))


def _document(lang: str, title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )
