"""Products and price books: what can be sold, and at which price in which currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crm_sales.domain.errors import InvalidValue
from crm_sales.domain.money import amount, currency_code, minor_units, rounded
from crm_sales.domain.pipeline import IDENTIFIER
from crm_shared.contracts.sales import (
    LineItem,
    PriceBookDefined,
    PriceBookEntry,
    ProductDefined,
)


def define_product(
    tenant_id: str,
    product_id: str,
    name: str,
    description: str | None,
    active: bool,
    current: ProductDefined | None,
) -> ProductDefined | None:
    if not IDENTIFIER.match(product_id):
        raise InvalidValue("product_id", "lowercase letters, digits, - and _")
    if not name.strip():
        raise InvalidValue("name", "must not be empty")
    event = ProductDefined(
        tenant_id=tenant_id,
        product_id=product_id,
        name=name.strip(),
        description=(description or "").strip() or None,
        active=active,
    )
    return None if event == current else event


def define_price_book(
    tenant_id: str,
    price_book_id: str,
    name: str,
    currency: str,
    entries: list[dict[str, Any]],
    products: dict[str, ProductDefined],
    current: PriceBookDefined | None,
) -> PriceBookDefined | None:
    """A price book's entries must name known products, once each, in the book's currency."""
    if not IDENTIFIER.match(price_book_id):
        raise InvalidValue("price_book_id", "lowercase letters, digits, - and _")
    if not name.strip():
        raise InvalidValue("name", "must not be empty")
    code = currency_code(currency)
    if current is not None and current.currency != code:
        raise InvalidValue("currency", f"the book is in {current.currency}; make another book")
    parsed: list[PriceBookEntry] = []
    for index, entry in enumerate(entries):
        product_id = str(entry.get("product_id", ""))
        if product_id not in products:
            raise InvalidValue(f"entries[{index}].product_id", f"no product {product_id!r}")
        if any(e.product_id == product_id for e in parsed):
            raise InvalidValue(f"entries[{index}].product_id", f"{product_id} is listed twice")
        price = amount(entry.get("unit_price"), f"entries[{index}].unit_price")
        if price != rounded(price, code):
            raise InvalidValue(
                f"entries[{index}].unit_price",
                f"{code} has {minor_units(code)} decimal places",
            )
        parsed.append(PriceBookEntry(product_id=product_id, unit_price=price))
    event = PriceBookDefined(
        tenant_id=tenant_id,
        price_book_id=price_book_id,
        name=name.strip(),
        currency=code,
        entries=parsed,
    )
    return None if event == current else event


def priced_line_items(
    raw: list[dict[str, Any]],
    book: PriceBookDefined,
    products: dict[str, ProductDefined],
) -> list[LineItem]:
    """Line items priced from the book (a unit price given overrides it), with exact totals."""
    prices = {e.product_id: e.unit_price for e in book.entries}
    items = []
    for index, item in enumerate(raw):
        where = f"line_items[{index}]"
        product_id = str(item.get("product_id", ""))
        if product_id not in prices:
            raise InvalidValue(
                f"{where}.product_id", f"{product_id!r} is not in {book.price_book_id}"
            )
        product = products[product_id]
        if not product.active:
            raise InvalidValue(f"{where}.product_id", f"{product_id} is no longer sold")
        quantity = amount(item.get("quantity", "1"), f"{where}.quantity")
        if quantity <= 0:
            raise InvalidValue(f"{where}.quantity", "must be more than 0")
        given = item.get("unit_price")
        unit_price = prices[product_id] if given is None else amount(given, f"{where}.unit_price")
        discount = amount(item.get("discount_percent", "0"), f"{where}.discount_percent")
        if discount > 100:
            raise InvalidValue(f"{where}.discount_percent", "at most 100")
        total = rounded(quantity * unit_price * (100 - discount) / Decimal(100), book.currency)
        items.append(
            LineItem(
                product_id=product_id,
                name=product.name,
                quantity=quantity,
                unit_price=unit_price,
                discount_percent=discount,
                total=total,
            )
        )
    return items
