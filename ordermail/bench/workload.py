"""The benchmark's orders: a realistic, repeatable mix (seeded), and what each input must end as.

Per 1,000 orders (the issue's mix): 20 to bounce@ and 2 to complaint@ the SES mailbox simulator,
10 invalid (a rotating set of malformed payloads: broken JSON, wrong types, a total that does not
add up, unknown currencies, amounts finer than the currency allows, control characters, oversized
bodies, …), and 50 republished duplicates of valid orders — some published at the same instant as
the original (two publishers racing), some later, a few with a changed payload (a conflicting
duplicate). Valid orders use 20 currencies with zero, two and three minor units, names and items in
many scripts (accents, CJK, Arabic and Hebrew right-to-left, Devanagari, Cyrillic, emoji),
internationalized address domains and some orderIds an SES tag cannot carry as they are.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from tasks import names
from tasks.domain.currencies import CURRENCIES
from tasks.domain.order import sha256_hex

SIM: Final = names.SES_SIMULATOR_DOMAIN
INVALID_RATE: Final = 0.01
BOUNCE_RATE: Final = 0.02
COMPLAINT_RATE: Final = 0.002
DUPLICATE_RATE: Final = 0.05
CONCURRENT_SHARE: Final = 0.4  # of the duplicates: published at the same instant as the original
CONFLICT_SHARE: Final = 0.1  # of the later duplicates: the payload changed (metadata edited)

CURRENCY_MIX: Final = (
    "USD", "USD", "USD", "EUR", "EUR", "GBP", "JPY", "KWD", "CHF", "SEK", "BRL", "INR", "CNY",
    "KRW", "BHD", "ZAR", "PLN", "TRY", "ILS", "AED", "VND", "MXN", "CAD",
)
NAMES: Final = (
    "Zoë Ångström-Éluard", "François Müller", "山田 花子", "فاطمة الزهراء", "דוד כהן", "Ana Lúcia Conceição",
    "Олег Петров", "प्रिया शर्मा", "김민준", "Nguyễn Thị Hương", "Søren Kierkegård", "Łukasz Żółć",
    "Björk Guðmundsdóttir", "Chloé O'Brien", "José Ñúñez", "Αλέξανδρος Παπαδόπουλος", "Mia 🌸 Schmidt",
    "Ιωάννα & Kostas", "Jean-Luc <Picard>", "Dr. Ama Ọláyínká",
)
ITEMS: Final = (
    "Café crème mug ☕", "Große Teekanne — Porzellan", "抹茶セット 🍵", "قهوة عربية بالهيل", "דבש מהגליל",
    "Pastel de nata × 6",  # noqa: RUF001 - unicode on purpose
    "Thé vert « Sencha »", "Матрёшка, 5 шт.", "मसाला चाय", "김치 1kg",
    "Bánh mì kit", "Smørrebrød board", "Pierogi ruskie", "Ξύλινο κουτάλι", "Socks <3 & co",
    "Crêpe pan, 24 cm", "Blue widget", "USB-C cable 2 m", "Notebook (A5, dotted)", "🎁 Gift wrap",
)
DOMAINS: Final = ("example.com", "mail.example.org", "shop.example", "bücher.example", "例え.jp", "xn--mller-kva.example")


@dataclass(frozen=True)
class Repeat:
    """One extra publication of an input's order."""

    mode: str  # "concurrent" (same instant as the original) or "later"
    body: str
    conflict: bool = False  # the payload differs (a changed metadata field)
    delay_fraction: float = 0.0  # for "later": when, as a share of the run's publish window


@dataclass(frozen=True)
class Input:
    seq: int
    key: str  # the ledger key: the orderId, or invalid-<hash> for a body without a usable one
    body: str
    kind: str  # "valid", "bounce", "complaint" or "invalid"
    expected_status: str  # DELIVERED, BOUNCED, COMPLAINED or INVALID
    invalid_reason: str | None = None  # the reason code Validate is expected to record
    repeats: tuple[Repeat, ...] = ()
    order_id: str | None = None

    @property
    def expects_mail(self) -> bool:
        return self.kind != "invalid"


@dataclass
class Workload:
    name: str
    inputs: list[Input]
    seed: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def messages(self) -> int:
        """SNS publications: every input once plus its repeats."""
        return sum(1 + len(item.repeats) for item in self.inputs)

    def by_key(self) -> dict[str, Input]:
        return {item.key: item for item in self.inputs}


def _amount(rng: random.Random, minor_units: int) -> Decimal:
    quantum = Decimal(1).scaleb(-minor_units)
    scale = {0: 100, 2: 1, 3: 1}.get(minor_units, 1)
    value = Decimal(rng.randint(50, 25_000)) / 100 * scale
    return value.quantize(quantum)


def valid_order(rng: random.Random, order_id: str, email: str, seq: int) -> dict[str, Any]:
    currency = rng.choice(CURRENCY_MIX)
    minor = CURRENCIES[currency].minor_units
    items = []
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4, 6))):
        item: dict[str, Any] = {
            "name": rng.choice(ITEMS),
            "quantity": rng.choice((1, 1, 1, 2, 3, 10)),
            "unitPrice": str(_amount(rng, minor)),
        }
        if rng.random() < 0.6:
            item["sku"] = f"SKU-{rng.randint(1000, 99999)}"
        items.append(item)
    total = sum((Decimal(i["unitPrice"]) * i["quantity"] for i in items), Decimal(0))
    order: dict[str, Any] = {
        "orderId": order_id,
        "customerEmail": email,
        "customerName": rng.choice(NAMES),
        "items": items,
        "total": str(total),
        "currency": currency,
        "timestamp": f"2026-03-{1 + seq % 28:02d}T{seq % 24:02d}:{seq % 60:02d}:07+0{seq % 10}:00",
        "metadata": {"channel": rng.choice(("web", "app", "pos")), "bench": True},
    }
    return order


_AMOUNT_STRING = re.compile(r'"(unitPrice|total)": "(\d+(?:\.\d+)?)"')


def as_json_numbers(body: str) -> str:
    """The same order with its amounts as JSON numbers (`12.50`), which Validate also accepts."""
    return _AMOUNT_STRING.sub(r'"\1": \2', body)


def _order_id(prefix: str, seq: int, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.03:
        return f"{prefix}/注文/{seq:06d}"  # needs the base32 SES tag
    if roll < 0.06:
        return f"{prefix} Bestellung #{seq:06d} · Ä"
    return f"{prefix}-{seq:06d}"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def invalid_body(seq: int, variant: int, prefix: str, rng: random.Random) -> tuple[str, str | None, str]:
    """(body, orderId or None, expected reason) for the variant-th malformed payload."""
    order_id = f"{prefix}-bad-{seq:06d}"
    base = valid_order(rng, order_id, f"customer{seq}@example.com", seq)
    base["currency"] = "USD"
    base["items"] = [{"name": "Blue widget", "quantity": 2, "unitPrice": "10.00"}]
    base["total"] = "20.00"
    variants: list[tuple[str, str | None, str]] = []
    variants.append((f'{{"orderId": "{order_id}", "items": [{{"name": "trunc', None, "not_json"))
    variants.append((_dumps([order_id, seq, "not an object"]), None, "not_an_object"))
    missing = dict(base)
    del missing["customerEmail"]
    variants.append((_dumps(missing), order_id, "missing_field"))
    variants.append((_dumps({**base, "customerEmail": f"nobody-{seq}.example.com"}), order_id, "invalid_email"))
    variants.append((_dumps({**base, "total": "21.00"}), order_id, "total_mismatch"))
    variants.append((_dumps({**base, "currency": "XBT"}), order_id, "unknown_currency"))
    variants.append((_dumps({**base, "items": [{"name": "Blue widget", "quantity": 0, "unitPrice": "10.00"}]}),
                     order_id, "invalid_quantity"))
    variants.append((_dumps({**base, "currency": "JPY", "total": "20.5",
                             "items": [{"name": "Yen", "quantity": 1, "unitPrice": "20.5"}]}),
                     order_id, "invalid_amount"))
    variants.append((_dumps({**base, "timestamp": "2026-03-14T09:26:53"}), order_id, "invalid_timestamp"))
    variants.append((_dumps({**base, "customerName": "Eve\r\nBcc: everyone@example.com"}), order_id, "invalid_name"))
    variants.append((_dumps({**base, "items": []}), order_id, "no_items"))
    variants.append((_dumps({**base, "orderId": "x" * 200}), None, "invalid_order_id"))
    variants.append((f'{{"orderId": "{order_id}", "orderId": "{order_id}-again", "total": "1"}}', None, "not_json"))
    big = dict(base)
    big["metadata"] = {"note": "é" * 40_000}  # 80 KB of UTF-8: over the 64 KiB body limit, under SNS's
    variants.append((_dumps(big), order_id, "too_large"))
    variants.append((_dumps({**base, "total": "NaN"}), order_id, "invalid_amount"))
    variants.append((_dumps({**base, "items": [{"name": "Blue widget", "quantity": 2, "unitPrice": -10}],
                             "total": "-20"}), order_id, "invalid_amount"))
    return variants[variant % len(variants)]


INVALID_VARIANTS: Final = 16


def _spread(n: int, count: int, rng: random.Random, exclude: set[int]) -> set[int]:
    candidates = [i for i in range(n) if i not in exclude]
    return set(rng.sample(candidates, min(count, len(candidates))))


def build(name: str, n: int, *, seed: int, prefix: str | None = None) -> Workload:
    """n distinct orders (valid and invalid) in the issue's proportions; duplicates come on top."""
    rng = random.Random(f"{seed}:{name}")
    prefix = prefix or name
    n_invalid = round(n * INVALID_RATE)
    n_bounce = round(n * BOUNCE_RATE)
    n_complaint = round(n * COMPLAINT_RATE)
    invalid = _spread(n, n_invalid, rng, set())
    bounce = _spread(n, n_bounce, rng, invalid)
    complaint = _spread(n, n_complaint, rng, invalid | bounce)
    duplicates = _spread(n, round(n * DUPLICATE_RATE), rng, invalid)

    inputs: list[Input] = []
    invalid_variant = 0
    counts = {"valid": 0, "bounce": 0, "complaint": 0, "invalid": 0, "duplicates": 0, "concurrent_duplicates": 0,
              "conflicting_duplicates": 0}
    for seq in range(n):
        if seq in invalid:
            body, order_id, reason = invalid_body(seq, invalid_variant, prefix, rng)
            invalid_variant += 1
            key = order_id or f"invalid-{sha256_hex(body)[:32]}"
            inputs.append(Input(seq, key, body, "invalid", "INVALID", invalid_reason=reason, order_id=order_id))
            counts["invalid"] += 1
            continue
        order_id = _order_id(prefix, seq, rng)
        if seq in bounce:
            kind, email, expected = "bounce", f"bounce@{SIM}", "BOUNCED"
        elif seq in complaint:
            kind, email, expected = "complaint", f"complaint@{SIM}", "COMPLAINED"
        else:
            kind, expected = "valid", "DELIVERED"
            email = f"customer{seq}@{rng.choice(DOMAINS)}"
        order = valid_order(rng, order_id, email, seq)
        body = _dumps(order)
        if rng.random() < 0.3:
            body = as_json_numbers(body)
        repeats: tuple[Repeat, ...] = ()
        if seq in duplicates:
            counts["duplicates"] += 1
            if rng.random() < CONCURRENT_SHARE:
                repeats = (Repeat("concurrent", body),)
                counts["concurrent_duplicates"] += 1
            elif rng.random() < CONFLICT_SHARE:
                changed = _dumps({**order, "metadata": {**order["metadata"], "edited": True}})
                repeats = (Repeat("later", changed, conflict=True, delay_fraction=rng.random()),)
                counts["conflicting_duplicates"] += 1
            else:
                repeats = (Repeat("later", body, delay_fraction=rng.random()),)
        counts[kind] += 1
        inputs.append(Input(seq, order_id, body, kind, expected, repeats=repeats, order_id=order_id))
    return Workload(name=name, inputs=inputs, seed=seed, counts=counts)
