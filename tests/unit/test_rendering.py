"""Rendering: escaping, money per currency, the text alternative, the subject, size bounds."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest

from tasks import names
from tasks.domain.currencies import CURRENCIES, format_money
from tasks.domain.order import validate_order
from tasks.domain.rendering import (
    MAX_SUBJECT_CHARS,
    RenderError,
    one_line,
    render_normalized_order,
    render_order_email,
)
from tasks.render import handler
from tests.unit.helpers import sample_order

SCRIPT = "<script>alert('pwned')</script>"


def normalized(**overrides: Any) -> dict[str, Any]:
    return validate_order(json.dumps(sample_order(**overrides)), default_currency="USD").normalized


def render(**overrides: Any):
    return render_normalized_order(normalized(**overrides), shop_name="Example Shop")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def visible_text(html: str) -> tuple[str, list[str]]:
    parser = _TextCollector()
    parser.feed(html)
    return " ".join(parser.text), parser.tags


def test_script_in_customer_and_item_names_is_escaped() -> None:
    mail = render(
        customerName=SCRIPT,
        items=[{"name": f"Mug {SCRIPT}", "quantity": 1, "unitPrice": "5.00", "sku": "<img src=x onerror=alert(1)>"}],
        total="5.00",
    )
    assert "<script>" not in mail.html and "<img" not in mail.html
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in mail.html
    text, tags = visible_text(mail.html)
    assert SCRIPT in text  # shown to the reader as text
    assert "script" not in tags and "img" not in tags
    assert SCRIPT in mail.text  # the text part is plain text: nothing to escape


def test_template_syntax_in_data_is_not_evaluated() -> None:
    mail = render(customerName="{{ 7 * 7 }} {% if true %}x{% endif %}")
    assert "{{ 7 * 7 }}" in mail.text and "49" not in mail.text
    assert "{{ 7 * 7 }}" in mail.html


def test_no_template_syntax_left() -> None:
    mail = render()
    for part in (mail.subject, mail.html, mail.text):
        assert not re.search(r"\{\{|\}\}|\{%|%\}|\{#|#\}", part)


def test_html_facts() -> None:
    mail = render()
    assert mail.html.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in mail.html
    assert 'name="viewport"' in mail.html
    for fact in ("Example Shop", "Jane Doe", "ORD-1001", "Espresso beans 1 kg", "BEAN-1K", "Milk frother", "$18.50", "$37.00", "$29.99", "$66.99", "1 May 2024, 10:00 UTC"):
        assert fact in mail.html, fact
    assert "<table" in mail.html and 'role="presentation"' in mail.html


def test_text_alternative_has_the_same_facts() -> None:
    mail = render()
    for fact in ("Example Shop", "Hi Jane Doe,", "Order number: ORD-1001", "1 May 2024, 10:00 UTC", "Espresso beans 1 kg (SKU BEAN-1K)", "2 x $18.50 = $37.00", "1 x $29.99 = $29.99", "Total (USD): $66.99"):
        assert fact in mail.text, fact
    assert "<" not in mail.text and "&amp;" not in mail.text
    assert mail.text.endswith("\n") and not mail.text.endswith("\n\n")


@pytest.mark.parametrize(
    ("currency", "price", "quantity", "total", "unit_shown", "total_shown"),
    [
        ("JPY", "1200", 3, "3600", "¥1,200", "¥3,600"),
        ("KRW", "15000", 2, "30000", "₩15,000", "₩30,000"),
        ("KWD", "1.250", 2, "2.500", "KWD\u00a01.250", "KWD\u00a02.500"),
        ("BHD", "0.005", 3, "0.015", "BHD\u00a00.005", "BHD\u00a00.015"),
        ("EUR", "9.99", 1, "9.99", "€9.99", "€9.99"),
        ("GBP", "1234.5", 1, "1234.5", "£1,234.50", "£1,234.50"),
        ("CHF", "10", 1, "10", "CHF\u00a010.00", "CHF\u00a010.00"),
        ("CAD", "10", 1, "10", "CA$10.00", "CA$10.00"),
    ],
)
def test_money_per_currency_minor_units(
    currency: str, price: str, quantity: int, total: str, unit_shown: str, total_shown: str
) -> None:
    mail = render(currency=currency, items=[{"name": "Thing", "quantity": quantity, "unitPrice": price}], total=total)
    assert unit_shown in mail.html and total_shown in mail.html
    assert unit_shown in mail.text and total_shown in mail.text


def test_format_money_rules() -> None:
    assert format_money(Decimal("1234567.5"), "USD") == "$1,234,567.50"
    assert format_money(Decimal("0"), "USD") == "$0.00"
    assert format_money(Decimal("-0.00"), "EUR") == "€0.00"
    assert format_money(Decimal("5"), "JPY") == "¥5"
    assert format_money(Decimal("0.1"), "OMR") == "OMR\u00a00.100"
    for code, info in CURRENCIES.items():
        shown = format_money(Decimal("1"), code)
        decimals = shown.rsplit(".", 1)[1] if "." in shown else ""
        assert len(decimals) == info.minor_units, code


@pytest.mark.parametrize(
    "name",
    ["محمد عبد الله", "שרה כהן", "李小龍", "Zoë 😀🎉", "Ωmega & Sons"],
)
def test_unicode_names_render_as_utf8(name: str) -> None:
    mail = render(customerName=name, items=[{"name": name, "quantity": 1, "unitPrice": "1.00"}], total="1.00")
    escaped = name.replace("&", "&amp;")
    assert f'<span dir="auto">{escaped}</span>' in mail.html
    assert f"Hi {name}," in mail.text
    mail.html.encode("utf-8")


def test_subject_is_one_line_and_bounded() -> None:
    mail = render(orderId="Ö" * 80)
    assert mail.subject == f"Your Example Shop order {'Ö' * 80} is confirmed"
    long_shop = render_normalized_order(normalized(orderId="x" * 128), shop_name="S" * 100)
    assert len(long_shop.subject) == MAX_SUBJECT_CHARS and long_shop.subject.endswith("…")
    assert "\r" not in long_shop.subject and "\n" not in long_shop.subject


def test_subject_cannot_carry_a_header_even_if_data_did() -> None:
    assert one_line("Order 1\r\nBcc: victim@example.com", 200) == "Order 1 Bcc: victim@example.com"
    assert one_line("a\u2028b\x85c\x00d", 200) == "a b c d"
    assert one_line("x" * 300, 10) == "x" * 9 + "…"


def test_five_hundred_items_fit_the_size_budget() -> None:
    items = [{"name": f"Item number {index} " + "n" * 45, "quantity": 1, "unitPrice": "1.00", "sku": f"SKU-{index}"} for index in range(500)]
    mail = render(items=items, total="500.00")
    assert len(mail.html.encode()) < 200_000
    assert mail.html.count("<tr") > 500
    assert "Item number 499" in mail.text


def test_oversized_html_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tasks.domain.rendering.MAX_HTML_BYTES", 1000)
    with pytest.raises(RenderError, match="html part"):
        render()


@pytest.mark.parametrize(
    "order",
    [None, "order", [], {"orderId": "A"}, {**sample_order(), "total": "1.00"}],
)
def test_not_a_normalized_order_is_a_render_error(order: Any) -> None:
    with pytest.raises(RenderError):
        render_normalized_order(order, shop_name="Example Shop")


def test_render_order_email_takes_a_validated_order() -> None:
    order = validate_order(json.dumps(sample_order()), default_currency="USD").order
    assert render_order_email(order, shop_name="Shop").subject == "Your Shop order ORD-1001 is confirmed"


def test_render_handler(lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(names.ENV_SHOP_NAME, "Café Zoë")
    result = handler({"order": normalized()}, lambda_context)
    assert set(result) == {"subject", "html", "text"}
    assert result["subject"] == "Your Café Zoë order ORD-1001 is confirmed"
    assert "Café Zoë" in result["html"] and "Café Zoë" in result["text"]
    json.dumps(result)


def test_render_handler_refuses_a_bad_event(lambda_context: Any) -> None:
    with pytest.raises(RenderError):
        handler({"order": {"orderId": "A"}}, lambda_context)
    with pytest.raises(RenderError):
        handler({}, lambda_context)
