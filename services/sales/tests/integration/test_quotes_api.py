"""Products, price books, line items and quotes over HTTP, on a real PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from .conftest import ADA, BOB
from .test_opportunities_api import opened

pytestmark = pytest.mark.integration


async def catalogue(api: httpx.AsyncClient) -> None:
    for product_id, name in (("seat", "Seat licence"), ("support", "Support <premium>")):
        answer = await api.put(f"/products/{product_id}", json={"name": name}, headers=ADA)
        assert answer.status_code == 200, answer.text
    book = await api.put(
        "/price-books/eu",
        json={
            "name": "Europe",
            "currency": "EUR",
            "entries": [
                {"product_id": "seat", "unit_price": "19.99"},
                {"product_id": "support", "unit_price": "500"},
            ],
        },
        headers=ADA,
    )
    assert book.status_code == 200, book.text


async def test_line_items_price_the_opportunity_and_quotes_are_numbered(
    api: httpx.AsyncClient,
) -> None:
    await catalogue(api)
    deal = await opened(api)
    lines = await api.put(
        f"/opportunities/{deal['id']}/line-items",
        json={
            "price_book_id": "eu",
            "line_items": [
                {"product_id": "seat", "quantity": "10", "discount_percent": "10"},
                {"product_id": "support"},
            ],
        },
        headers={**ADA, "If-Match": '"1"'},
    )
    assert lines.status_code == 200, lines.text
    assert lines.json()["amount"] == "679.9100"  # 10 x 19.99 x 0.9 + 500
    assert [item["total"] for item in lines.json()["line_items"]] == ["179.91", "500.00"]

    first = await api.post(
        f"/opportunities/{deal['id']}/quotes",
        json={"tax_rate_percent": "20", "valid_until": "2099-01-31"},
        headers={**ADA, "If-Match": '"2"'},
    )
    assert first.status_code == 201, first.text
    quote = first.json()
    assert (quote["quote_number"], quote["subtotal"], quote["tax"], quote["total"]) == (
        1,
        "679.91",
        "135.98",
        "815.89",
    )
    second = await api.post(
        f"/opportunities/{deal['id']}/quotes",
        json={"tax_rate_percent": "20", "valid_until": "2099-01-31"},
        headers={**ADA, "If-Match": '"3"'},
    )
    assert second.json()["quote_number"] == 2
    listed = (await api.get(f"/opportunities/{deal['id']}/quotes", headers=ADA)).json()
    assert [q["quote_number"] for q in listed] == [1, 2]

    html = await api.get(f"/quotes/{quote['quote_id']}", params={"format": "html"}, headers=ADA)
    assert html.headers["content-type"].startswith("text/html")
    assert "815.89 EUR" in html.text
    assert "Support &lt;premium&gt;" in html.text  # escaped
    pdf = await api.get(f"/quotes/{quote['quote_id']}", params={"format": "pdf"}, headers=ADA)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert (await api.get(f"/quotes/{quote['quote_id']}", headers=BOB)).status_code == 404


async def test_bad_line_items_and_quotes_are_refused_naming_the_field(
    api: httpx.AsyncClient,
) -> None:
    await catalogue(api)
    deal = await opened(api, currency="USD")
    wrong_currency = await api.put(
        f"/opportunities/{deal['id']}/line-items",
        json={"price_book_id": "eu", "line_items": [{"product_id": "seat"}]},
        headers={**ADA, "If-Match": '"1"'},
    )
    assert wrong_currency.status_code == 422
    assert "price_book_id" in wrong_currency.text
    no_lines = await api.post(
        f"/opportunities/{deal['id']}/quotes",
        json={"tax_rate_percent": "20", "valid_until": "2099-01-31"},
        headers={**ADA, "If-Match": '"1"'},
    )
    assert no_lines.status_code == 422
    assert "line_items" in no_lines.text
    stale = await api.post(
        f"/opportunities/{deal['id']}/quotes",
        json={"tax_rate_percent": "20", "valid_until": "2099-01-31"},
        headers={**ADA, "If-Match": '"7"'},
    )
    assert stale.status_code == 412
