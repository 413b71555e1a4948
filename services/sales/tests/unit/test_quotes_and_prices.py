"""Prices and quotes are exact: decimals, the currency's minor unit, tax on the subtotal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from crm_sales.domain.catalogue import define_price_book, priced_line_items
from crm_sales.domain.errors import InvalidValue
from crm_sales.domain.money import rounded
from crm_sales.domain.quote import issue_quote
from crm_shared.contracts.sales import PriceBookDefined, PriceBookEntry, ProductDefined

PRODUCTS = {
    "seat": ProductDefined(tenant_id="t", product_id="seat", name="Seat licence"),
    "old": ProductDefined(tenant_id="t", product_id="old", name="Old thing", active=False),
}
BOOK = PriceBookDefined(
    tenant_id="t",
    price_book_id="eu",
    name="Europe",
    currency="EUR",
    entries=[
        PriceBookEntry(product_id="seat", unit_price=Decimal("19.99")),
        PriceBookEntry(product_id="old", unit_price=Decimal("5")),
    ],
)


def test_line_totals_apply_quantity_price_and_discount_rounded_half_up() -> None:
    [line] = priced_line_items(
        [{"product_id": "seat", "quantity": "3", "discount_percent": "12.5"}], BOOK, PRODUCTS
    )
    assert line.unit_price == Decimal("19.99")
    assert line.total == Decimal("52.47")  # 3 x 19.99 x 0.875 = 52.47375
    [given] = priced_line_items([{"product_id": "seat", "unit_price": "10"}], BOOK, PRODUCTS)
    assert given.total == Decimal("10.00")


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"product_id": "nope"}, "line_items[0].product_id"),
        ({"product_id": "old"}, "line_items[0].product_id"),
        ({"product_id": "seat", "quantity": "0"}, "line_items[0].quantity"),
        ({"product_id": "seat", "discount_percent": "101"}, "line_items[0].discount_percent"),
        ({"product_id": "seat", "unit_price": 1.5}, "line_items[0].unit_price"),
    ],
)
def test_bad_line_items_name_the_field(item: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        priced_line_items([item], BOOK, PRODUCTS)
    assert refused.value.field == field


def test_minor_units_follow_the_currency() -> None:
    assert rounded(Decimal("10.5"), "JPY") == Decimal("11")
    assert rounded(Decimal("1.2345"), "KWD") == Decimal("1.235")
    assert rounded(Decimal("0.125"), "EUR") == Decimal("0.13")


def test_a_price_book_refuses_unknown_products_and_sub_cent_prices() -> None:
    with pytest.raises(InvalidValue, match="entries"):
        define_price_book(
            "t", "jp", "Japan", "JPY", [{"product_id": "seat", "unit_price": "1.5"}], PRODUCTS, None
        )
    with pytest.raises(InvalidValue, match="entries"):
        define_price_book(
            "t", "x", "X", "EUR", [{"product_id": "ghost", "unit_price": "1"}], PRODUCTS, None
        )


def test_a_quote_taxes_the_subtotal_exactly() -> None:
    lines = [
        line.model_dump(mode="json")
        for line in priced_line_items(
            [{"product_id": "seat", "quantity": "3"}, {"product_id": "seat", "unit_price": "0.10"}],
            BOOK,
            PRODUCTS,
        )
    ]
    quote = issue_quote(
        "q", "o", 2, "EUR", lines, "19.6", date(2027, 1, 31), date(2026, 11, 24), None
    )
    assert quote.subtotal == Decimal("60.07")
    assert quote.tax == Decimal("11.77")  # 60.07 x 0.196 = 11.77372
    assert quote.total == Decimal("71.84")
    assert quote.quote_number == 2


def test_a_quote_needs_lines_and_a_future_validity() -> None:
    with pytest.raises(InvalidValue, match="line_items"):
        issue_quote("q", "o", 1, "EUR", [], "20", date(2027, 1, 1), date(2026, 1, 1), None)
    with pytest.raises(InvalidValue, match="valid_until"):
        issue_quote("q", "o", 1, "EUR", [{}], "20", date(2025, 1, 1), date(2026, 1, 1), None)
