"""Render the order-confirmation mail (subject, HTML, plain text) from a normalized order.

Templates live in `tasks/templates/`. One Jinja2 environment, built on first use: HTML templates are
autoescaped (a `<script>` in a customer or item name is shown as text), every other template is
plain text, and an undefined variable is an error rather than an empty string. The templates get
ready-made strings (money already formatted, see tasks.domain.currencies): they hold no logic.

The subject is one line (control characters become spaces, so no header can be injected), at most
200 characters. The HTML part is bounded (MAX_HTML_BYTES): the rendered mail travels through the
Step Functions state, which is capped at 256 KB.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jinja2

from tasks.domain.currencies import format_money
from tasks.domain.order import Order, Rejection, order_from_normalized

TEMPLATES_DIR: Final = Path(__file__).resolve().parent.parent / "templates"
HTML_TEMPLATE: Final = "order_confirmation.html.j2"
TEXT_TEMPLATE: Final = "order_confirmation.txt.j2"
SUBJECT_TEMPLATE: Final = "subject.txt.j2"
MAX_SUBJECT_CHARS: Final = 200
MAX_HTML_BYTES: Final = 200_000
MAX_TEXT_BYTES: Final = 100_000
_NOT_IN_A_HEADER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


class RenderError(Exception):
    """The order cannot be rendered (not a valid normalized order, or the mail is too large)."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str

    def to_json_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "html": self.html, "text": self.text}


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR, encoding="utf-8"),
        # *.html.j2 autoescaped; subject and text templates are plain text (nothing to escape for).
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates never change inside a running Lambda
    )


def one_line(text: str, limit: int) -> str:
    """Control characters and line breaks become single spaces; cut to `limit` characters with `…`."""
    flat = " ".join(_NOT_IN_A_HEADER.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _display_date(order: Order) -> str:
    moment = order.timestamp
    return f"{moment.day} {moment:%B %Y}, {moment:%H:%M} UTC"


def template_context(order: Order, *, shop_name: str) -> dict[str, Any]:
    """Everything the templates print, as ready-made strings."""
    items = [
        {
            "name": item.name,
            "sku": item.sku,
            "quantity": item.quantity,
            "unit_price": format_money(item.unit_price, order.currency),
            "line_total": format_money(item.line_total, order.currency),
        }
        for item in order.items
    ]
    return {
        "shop_name": shop_name,
        "customer_name": order.customer_name,
        "order_id": order.order_id,
        "order_date": _display_date(order),
        "currency": order.currency,
        "items": items,
        "item_count": sum(item.quantity for item in order.items),
        "total": format_money(order.total, order.currency),
    }


def render_order_email(order: Order, *, shop_name: str) -> RenderedEmail:
    env = environment()
    context = template_context(order, shop_name=shop_name)
    subject = one_line(env.get_template(SUBJECT_TEMPLATE).render(context), MAX_SUBJECT_CHARS)
    html = env.get_template(HTML_TEMPLATE).render(context, subject=subject)
    text = env.get_template(TEXT_TEMPLATE).render(context)
    for part, content, limit in (("html", html, MAX_HTML_BYTES), ("text", text, MAX_TEXT_BYTES)):
        size = len(content.encode("utf-8"))
        if size > limit:
            raise RenderError(f"the {part} part is {size} bytes, the limit is {limit}")
    return RenderedEmail(subject=subject, html=html, text=text.strip() + "\n")


def render_normalized_order(order: object, *, shop_name: str) -> RenderedEmail:
    """Render the Validate step's normalized order (re-validated first: never render garbage)."""
    if not isinstance(order, dict):
        raise RenderError("order: must be the normalized order object")
    try:
        parsed = order_from_normalized(order)
    except Rejection as rejection:
        raise RenderError(f"not a valid normalized order: {rejection.message}") from None
    return render_order_email(parsed, shop_name=shop_name)
