"""Sample orders for `ordermail demo` and the tests: each one shows a behaviour worth seeing.

Good orders in four currencies (two, zero and three minor units) with accents, CJK, right-to-left
Arabic and Hebrew and emoji; a duplicate (the same order published twice); an invalid one (its
total does not match its items); and the SES mailbox simulator's bounce, complaint and
suppression-list addresses, whose feedback comes back through the configuration set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from tasks import names

SIM = names.SES_SIMULATOR_DOMAIN
TIMESTAMP: Final = "2026-03-14T09:26:53+01:00"


@dataclass(frozen=True)
class Sample:
    order: dict[str, Any]
    expect: str  # the ledger status the demo expects once feedback has arrived
    note: str
    publish_times: int = 1  # >1: the duplicate, published again
    via: str = "sns"  # how the demo sends it in: sns, api (the signed HTTP intake) or eventbridge

    @property
    def order_id(self) -> str:
        return str(self.order["orderId"])

    @property
    def body(self) -> str:
        return json.dumps(self.order, ensure_ascii=False)


def _order(order_id: str, email: str, name: str, items: list[dict[str, Any]], total: str, currency: str,
           **metadata: Any) -> dict[str, Any]:
    return {
        "orderId": order_id,
        "customerEmail": email,
        "customerName": name,
        "items": items,
        "total": total,
        "currency": currency,
        "timestamp": TIMESTAMP,
        "metadata": {"channel": "web", **metadata},
    }


# An order that names its customer by id only (customer lookup, context usersTable): it needs a
# runtime with the sample users table (`ordermail local --sample-users`), so it is not in SAMPLES.
LOOKUP_SAMPLE: Final = Sample(
    {k: v for k, v in _order("demo-1020", "", "", [{"name": "Gift card", "quantity": 1, "unitPrice": "25.00"}],
                             "25.00", "EUR").items() if k not in ("customerEmail", "customerName")}
    | {"customerId": "c-1001"},
    "DELIVERED", "customer looked up by id in the users table",
)

SAMPLES: Final[tuple[Sample, ...]] = (
    Sample(
        _order("demo-1001", f"success@{SIM}", "Zoë Ångström-Éluard",
               [{"name": "Café crème mug ☕", "quantity": 2, "unitPrice": "12.50", "sku": "MUG-CC-01"},
                {"name": "Crêpe pan, 24 cm", "quantity": 1, "unitPrice": "34.99"}],
               "59.99", "USD", campaign="spring"),
        "DELIVERED", "USD, accents and emoji",
    ),
    Sample(
        _order("demo-1002", f"success+eu@{SIM}", "François Müller",
               [{"name": "Große Teekanne — Porzellan", "quantity": 1, "unitPrice": "49.90"},
                {"name": "Thé vert « Sencha »", "quantity": 3, "unitPrice": "7.30"}],
               "71.80", "EUR"),
        "DELIVERED", "EUR, German and French typography; sent in over the signed HTTP intake", via="api",
    ),
    Sample(
        _order("demo-1003", f"success+jp@{SIM}", "山田 花子",
               [{"name": "抹茶セット 🍵", "quantity": 1, "unitPrice": "4200"},
                {"name": "和菓子の詰め合わせ", "quantity": 2, "unitPrice": "1500"}],
               "7200", "JPY", note="贈り物"),
        "DELIVERED", "JPY (no minor unit), Japanese; sent in as an EventBridge event", via="eventbridge",
    ),
    Sample(
        _order("demo-1004", f"success+kw@{SIM}", "فاطمة الزهراء",
               [{"name": "قهوة عربية بالهيل", "quantity": 2, "unitPrice": "3.250"},
                {"name": "דבש מהגליל", "quantity": 1, "unitPrice": "1.125"}],
               "7.625", "KWD"),
        "DELIVERED", "KWD (three minor units), Arabic and Hebrew right to left",
    ),
    Sample(
        _order("demo-1005", f"success+dup@{SIM}", "Ana Lúcia Conceição",
               [{"name": "Pastel de nata, box of 6", "quantity": 1, "unitPrice": "9.00"}],
               "9.00", "EUR"),
        "DELIVERED", "published twice: one mail, one duplicate recorded", publish_times=2,
    ),
    Sample(
        _order("demo-1006", f"success+bad@{SIM}", "Oliver Twist",
               [{"name": "Gruel, one bowl", "quantity": 2, "unitPrice": "1.00"}],
               "3.00", "USD"),
        "INVALID", "total 3.00 does not match the items (2.00): recorded INVALID, never retried",
    ),
    Sample(
        _order("demo-1007", f"bounce@{SIM}", "Bo Uncé",
               [{"name": "Returned letter", "quantity": 1, "unitPrice": "5.00"}],
               "5.00", "USD"),
        "BOUNCED", "SES simulator: permanent bounce",
    ),
    Sample(
        _order("demo-1008", f"complaint@{SIM}", "Carla Plaint",
               [{"name": "Unwanted newsletter", "quantity": 1, "unitPrice": "1.00"}],
               "1.00", "USD"),
        "COMPLAINED", "SES simulator: delivered, then a complaint",
    ),
    Sample(
        _order("demo-1009", f"suppressionlist@{SIM}", "Sue Pressed",
               [{"name": "Do-not-mail catalogue", "quantity": 1, "unitPrice": "2.50"}],
               "2.50", "USD"),
        "SUPPRESSED", "SES simulator: address on the suppression list",
    ),
)


def sample_orders() -> list[dict[str, Any]]:
    """Every sample order once (the duplicate not repeated)."""
    return [sample.order for sample in SAMPLES]


def publish_bodies() -> list[str]:
    """The message bodies in publish order, the duplicate repeated at the end."""
    bodies = [sample.body for sample in SAMPLES]
    bodies.extend(sample.body for sample in SAMPLES for _ in range(sample.publish_times - 1))
    return bodies
