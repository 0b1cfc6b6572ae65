"""Small builders for self-contained HTML pages: escaped tables, sections, one page with
inline CSS. Nothing is fetched: plots are inline SVG (`plots.py`)."""

from __future__ import annotations

import html
from collections.abc import Sequence

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .3em .6em; text-align: right; vertical-align: top; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; white-space: pre-wrap; max-width: 28em; }
.sig { color: #0a7a2f; font-weight: 600; } .nosig { color: #777; }
.note { color: #555; font-size: .9em; } .plots { display: flex; flex-wrap: wrap; gap: 1em; }
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def table(header: Sequence[str], rows: Sequence[Sequence[object]], text_cols: Sequence[int] = (),
          raw: bool = False, cls: str = "") -> str:
    """An HTML table; cells are escaped unless `raw` (for cells built from other builders)."""
    def cell(tag: str, i: int, v: object) -> str:
        klass = ' class="text"' if i in text_cols else ""
        return f"<{tag}{klass}>{v if raw and tag == 'td' else esc(v)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def section(title: str, *parts: str, note: str = "") -> str:
    body = "".join(parts) + (f'<p class="note">{esc(note)}</p>' if note else "")
    return f"<section><h2>{esc(title)}</h2>{body}</section>"


def page(title: str, *sections: str) -> str:
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>{''.join(sections)}</body></html>")


def fmt(x: object, digits: int = 4) -> str:
    """A number as text ('' for None)."""
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def with_interval(value: float | None, lo: float | None, hi: float | None, n: int | None = None,
                  digits: int = 4) -> str:
    """'0.6120 [0.5500, 0.6700] (n=120)'."""
    if value is None:
        return ""
    s = fmt(value, digits)
    if lo is not None and hi is not None:
        s += f" [{fmt(lo, digits)}, {fmt(hi, digits)}]"
    if n is not None:
        s += f" (n={n})"
    return s


def difference(d: dict | None, digits: int = 4) -> str:
    """A paired difference as raw HTML, green when its interval excludes 0, grey otherwise."""
    if not d:
        return ""
    text = with_interval(d["diff"], d.get("lo"), d.get("hi"), d.get("n"), digits)
    klass, word = ("sig", "") if d.get("significant") else ("nosig", " · no difference")
    return f'<span class="{klass}">{esc(("+" if d["diff"] >= 0 else "") + text + word)}</span>'
