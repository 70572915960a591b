"""The three browser pages of an OAuth install (bot.oauth): "Add to Slack", done, failed.

Plain HTML in the installer's language (the browser's ``Accept-Language``; the installer's
Slack locale once known); every value is escaped.
"""

from __future__ import annotations

from html import escape

from i18n import t

_PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>body {{ padding: 10px 15px; font-family: sans-serif; text-align: center; }}</style>
</head>
<body>
<h2>{title}</h2>
<p>{text}</p>
<p>{action}</p>
</body>
</html>
"""
ADD_TO_SLACK = "https://platform.slack-edge.com/img/add_to_slack.png"


def _page(locale: str, title: str, text: str, action: str) -> str:
    return _PAGE.format(lang=escape(locale), title=escape(title), text=escape(text), action=action)


def install_page(locale: str, url: str) -> str:
    button = (
        f'<a href="{escape(url)}"><img alt="{escape(t(locale, "install.add"))}" '
        f'height="40" width="139" src="{ADD_TO_SLACK}"></a>'
    )
    return _page(locale, t(locale, "install.title"), t(locale, "install.intro"), button)


def installed_page(locale: str, team: str, open_url: str) -> str:
    link = f'<a href="{escape(open_url)}">{escape(t(locale, "install.open"))}</a>'
    return _page(
        locale, t(locale, "install.done_title"), t(locale, "install.done", team=team), link
    )


def failed_page(locale: str, reason: str, install_path: str) -> str:
    link = f'<a href="{escape(install_path)}">{escape(t(locale, "install.again"))}</a>'
    text = t(locale, "install.failed", reason=reason)
    return _page(locale, t(locale, "install.failed_title"), text, link)
