"""A quote as a customer receives it: HTML (escaped) or PDF."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from fpdf import FPDF
from jinja2 import Environment, select_autoescape

from crm_shared.contracts.sales import QuoteIssued

_TEMPLATE = Environment(autoescape=select_autoescape(default=True)).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Quote {{ q.quote_number }}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ccc;padding:.4em;text-align:left}.n{text-align:right}</style>
</head><body>
<h1>Quote {{ q.quote_number }}</h1>
<p>Issued {{ issued }} &middot; valid until {{ q.valid_until.isoformat() }} &middot;
reference {{ q.quote_id }}</p>
<table><thead><tr><th>Product</th><th class="n">Quantity</th><th class="n">Unit price</th>
<th class="n">Discount</th><th class="n">Total</th></tr></thead><tbody>
{% for line in q.line_items %}<tr><td>{{ line.name }}</td><td class="n">{{ line.quantity }}</td>
<td class="n">{{ line.unit_price }}</td><td class="n">{{ line.discount_percent }} %</td>
<td class="n">{{ line.total }}</td></tr>
{% endfor %}</tbody><tfoot>
<tr><th colspan="4" class="n">Subtotal</th>
<td class="n">{{ q.subtotal }} {{ q.currency }}</td></tr>
<tr><th colspan="4" class="n">Tax {{ q.tax_rate_percent }} %</th>
<td class="n">{{ q.tax }} {{ q.currency }}</td></tr>
<tr><th colspan="4" class="n">Total</th>
<td class="n"><strong>{{ q.total }} {{ q.currency }}</strong></td></tr>
</tfoot></table>
{% if q.notes %}<p>{{ q.notes }}</p>{% endif %}
</body></html>
"""
)


def quote_html(quote: QuoteIssued, issued_at: datetime) -> str:
    return _TEMPLATE.render(q=quote, issued=issued_at.date().isoformat())


def quote_pdf(quote: QuoteIssued, issued_at: datetime) -> bytes:
    """A one-table PDF (core fonts: characters outside Latin-1 print as ?)."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin1(f"Quote {quote.quote_number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.cell(
        0,
        6,
        _latin1(
            f"Issued {issued_at.date().isoformat()} - valid until "
            f"{quote.valid_until.isoformat()} - reference {quote.quote_id}"
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)
    with pdf.table(
        col_widths=(70, 25, 30, 25, 30), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")
    ) as table:
        table.row(["Product", "Quantity", "Unit price", "Discount", "Total"])
        for line in quote.line_items:
            table.row(
                [
                    _latin1(line.name),
                    str(line.quantity),
                    str(line.unit_price),
                    f"{line.discount_percent} %",
                    str(line.total),
                ]
            )
    pdf.ln(4)
    for label, value in (
        ("Subtotal", quote.subtotal),
        (f"Tax {quote.tax_rate_percent} %", quote.tax),
        ("Total", quote.total),
    ):
        pdf.cell(150, 7, _latin1(label), align="R")
        pdf.cell(30, 7, _money(value, quote.currency), align="R", new_x="LMARGIN", new_y="NEXT")
    if quote.notes:
        pdf.ln(4)
        pdf.multi_cell(0, 6, _latin1(quote.notes))
    return bytes(pdf.output())


def _money(value: Decimal, currency: str) -> str:
    return f"{value} {currency}"


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")
