"""HTML building blocks of the dashboard: the page frame, tables and figure blocks.

Pages are rendered on the server from the same figure builders as the offline report, so a chart
in a meeting and a chart in a brief are the same chart. plotly.js and the world map are served by
this server from the installed packages (see raremap.web.app), never from a CDN.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from raremap.report.figure import Section
from raremap.report.html import RENDER_SCRIPT, escape, figure_html, report_table_html, table_html

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #0f172a; background: #f8fafc; }
header { background: #0f172a; color: #f8fafc; padding: 0.8rem 2rem; display: flex; gap: 1.5rem; align-items: baseline; }
header a { color: #e2e8f0; text-decoration: none; } header strong { font-size: 1.2rem; }
main { padding: 1rem 2rem 3rem; max-width: 1200px; }
.figure { background: #fff; border: 1px solid #e2e8f0; border-radius: 6px; padding: 0.5rem; margin: 1rem 0; }
.caption, .evidence { font-size: 0.85rem; color: #334155; margin: 0.3rem 0.5rem; }
table { border-collapse: collapse; font-size: 0.85rem; background: #fff; margin: 0.5rem 0; }
th, td { border: 1px solid #e2e8f0; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
td.number { text-align: right; } th { background: #f1f5f9; }
input, select { font: inherit; padding: 0.15rem 0.3rem; } input.short { width: 5.5rem; } input.tiny { width: 4rem; }
button { font: inherit; padding: 0.4rem 1rem; background: #1d4ed8; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
.progress { width: 100%; max-width: 600px; height: 1.2rem; background: #e2e8f0; border-radius: 4px; overflow: hidden; }
.progress > div { height: 100%; background: #1d4ed8; width: 0; transition: width 0.3s; }
.error { color: #b91c1c; white-space: pre-wrap; } .status-done { color: #047857; } .status-failed { color: #b91c1c; }
fieldset { border: 1px solid #cbd5e1; margin: 1rem 0; background: #fff; }
"""


def page(title: str, body: str, *, figures: bool = False, script: str = "") -> str:
    """A dashboard page; with `figures`, the local plotly.js and world map are loaded first."""
    assets = (
        '<script src="/static/geo-assets.js"></script><script src="/static/plotly.min.js"></script>'
        if figures
        else ""
    )
    render = f"<script>{RENDER_SCRIPT}</script>" if figures else ""
    extra = f"<script>{script}</script>" if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · raremap</title><style>{STYLE}</style>{assets}</head><body>"
        '<header><strong><a href="/">raremap</a></strong><a href="/">Dashboard</a><a href="/runs">Runs</a>'
        '<a href="/api">API</a><a href="/login">Log in</a></header>'
        f"<main><h1>{escape(title)}</h1>{body}</main>{render}{extra}</body></html>\n"
    )


def sections_html(sections: Sequence[Section]) -> str:
    parts = []
    for section in sections:
        parts.append(
            f'<section id="{escape(section.identifier)}"><h2>{escape(section.title)}</h2>'
            f"<p>{escape(section.introduction)}</p>"
        )
        parts += [figure_html(figure) for figure in section.figures]
        parts += [report_table_html(table) for table in section.tables]
        parts.append("</section>")
    return "".join(parts)


def link_table(frame: pd.DataFrame, links: dict[str, str]) -> str:
    """A table whose cells in the columns of `links` become links (href template with {value})."""
    if frame.empty:
        return "<p>None yet.</p>"
    html = table_html(frame)
    for column, template in links.items():
        for value in frame[column].dropna().astype(str).unique():
            html = html.replace(
                f"<td>{escape(value)}</td>",
                f'<td><a href="{escape(template.format(value=value))}">{escape(value)}</a></td>',
            )
    return html
