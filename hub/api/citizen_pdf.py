"""The citizen page as a printable PDF (reportlab), the same rows as the HTML page.

Chinese text uses reportlab's built-in CID font STSong-Light: the PDF names the font rather than
embedding it (every PDF reader carries the Adobe Asian fonts or a substitute), so nothing is
fetched and no font file ships with the hub.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
_TEXT = ParagraphStyle("text", fontName=FONT, fontSize=9, leading=12)
_TITLE = ParagraphStyle("title", fontName=FONT, fontSize=15, leading=20, spaceAfter=6)
_HEADING = ParagraphStyle("heading", fontName=FONT, fontSize=11, leading=15, spaceBefore=8, spaceAfter=4)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]) -> Table:
    cells = [[Paragraph(_escape(c), _TEXT) for c in row] for row in [header, *rows]]
    table = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def citizen_pdf(words: dict[str, str], items: Sequence[Sequence[str]], received: Sequence[Sequence[str]],
                trips: int, printed_at: str, title: Callable[[], str] | None = None) -> bytes:
    """``items``: (case, item, department, status, reference, done, on time) rows; ``received``:
    (department, data, legal basis) rows."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=words["title"],
                            author="Once-Only Hub")
    story = [Paragraph(_escape(f"{words['title']} · 数据多跑路，群众少跑腿"), _TITLE),
             Paragraph(_escape(words["intro"]), _TEXT),
             Paragraph(_escape(f"{words['trips']}: {trips} · {printed_at}"), _TEXT), Spacer(1, 4 * mm),
             _table([words[k] for k in ("case", "item", "department", "status", "reference", "done", "on_time")],
                    items or [[words["none"], "", "", "", "", "", ""]], (55, 60, 38, 24, 50, 25, 20)),
             Paragraph(_escape(words["received"]), _HEADING),
             _table([words["department"], words["fields"], words["basis"]],
                    received or [[words["none"], "", ""]], (60, 90, 122))]
    doc.build(story)
    return out.getvalue()
