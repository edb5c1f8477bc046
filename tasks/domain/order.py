"""The order message: parse, validate, normalize, and hash it.

`validate_order(body, default_currency=...)` turns the raw message body into a `ValidOrder` or raises
`Rejection` with a machine-readable `reason` and a human message naming the field
(`items[2].unitPrice: has more decimal places than USD allows (2)`). Messages never repeat the
customer's e-mail address or name, so they are safe to log and to store.

Decisions worth knowing:
- The body is measured (UTF-8 bytes) before it is parsed: anything over 64 KiB is `too_large`.
- JSON is parsed with `parse_float=Decimal`, so amounts never pass through binary floating point.
  `NaN`/`Infinity` literals are parsed (as non-finite Decimals) only to reject them with a field
  name. Duplicate keys in an object make the body `not_json`: the order would be ambiguous.
- Amounts are JSON numbers or decimal strings (`"12.50"`, `12.5`, `1.25e1`). Their value must be
  exact at the currency's minor unit: `12.500` is fine for USD, `12.345` is not. Normalized to
  exactly the minor-unit count of decimals (`"12.50"`), non-negative, at most 10^12.
- `customerEmail`: syntax only (no DNS). The local part must be ASCII (SES does not support SMTPUTF8
  local parts); an internationalized domain is accepted and normalized to its IDNA (xn--) form,
  so the normalized address is always ASCII.
- Text (names, item names, sku) is NFC-normalized and stripped; control characters (including
  CR/LF, U+2028/2029) and unpaired surrogates are rejected; any other Unicode (RTL, emoji) is fine.
- `orderId` is stripped; at most 128 characters and 160 UTF-8 bytes, so its base32 form still fits
  an SES tag value (256 characters).
- `quantity` is a JSON integer (a number with a zero fraction such as `2.0` is accepted as 2).
- `timestamp` must carry a time zone; it is normalized to UTC (`…Z`).
- Unknown fields are ignored (they stay in the stored raw request).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from tasks.domain.currencies import CURRENCIES, Currency

MAX_BODY_BYTES: Final = 64 * 1024
MAX_ITEMS: Final = 500
MAX_QUANTITY: Final = 10_000
MAX_ORDER_ID_CHARS: Final = 128
MAX_ORDER_ID_BYTES: Final = 160  # base32 of 160 bytes is exactly 256 characters, the SES tag limit
MAX_NAME_CHARS: Final = 200
MAX_SKU_CHARS: Final = 100
MAX_CUSTOMER_ID_CHARS: Final = 128
MAX_LOCALE_CHARS: Final = 35  # BCP 47's longest practical tag
MAX_EMAIL_CHARS: Final = 254
MAX_METADATA_BYTES: Final = 4 * 1024
MAX_METADATA_DEPTH: Final = 16
MAX_AMOUNT: Final = Decimal(10) ** 12
MAX_PROBLEMS_IN_MESSAGE: Final = 5


class Reason(StrEnum):
    """Machine-readable rejection reasons (stored as `invalidReason` in the ledger)."""

    TOO_LARGE = "too_large"
    EMPTY_BODY = "empty_body"
    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    INVALID_ORDER_ID = "invalid_order_id"
    INVALID_EMAIL = "invalid_email"
    INVALID_NAME = "invalid_name"
    INVALID_SKU = "invalid_sku"
    NO_ITEMS = "no_items"
    TOO_MANY_ITEMS = "too_many_items"
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_AMOUNT = "invalid_amount"
    TOTAL_MISMATCH = "total_mismatch"
    UNKNOWN_CURRENCY = "unknown_currency"
    INVALID_TIMESTAMP = "invalid_timestamp"
    INVALID_METADATA = "invalid_metadata"
    METADATA_TOO_LARGE = "metadata_too_large"
    # about the queue record around the body (tasks/validate.py)
    NO_RECORDS = "no_records"
    INVALID_RECORD = "invalid_record"
    INVALID_RESEND = "invalid_resend"
    # customer lookup by id (context usersTable; docs/ARCHITECTURE.md "Customer lookup")
    INVALID_CUSTOMER_ID = "invalid_customer_id"
    UNKNOWN_CUSTOMER = "unknown_customer"


class Rejection(Exception):
    """The order cannot be accepted. `str(rejection)` is the human message."""

    def __init__(self, reason: Reason, message: str, *, order_id: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.order_id = order_id  # the body's orderId when it had a valid one, for the ledger key


# --- field parsers: each raises PydanticCustomError(reason, …) so pydantic reports the field path --


def _problem(reason: Reason, detail: str, *, field: str | None = None) -> PydanticCustomError:
    # The detail goes through the context, never into the template: it may contain braces.
    context: dict[str, Any] = {"detail": detail}
    if field is not None:
        context["field"] = field
    return PydanticCustomError(reason.value, "{detail}", context)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _forbidden_character(text: str) -> str | None:
    """The first character that must not appear in a single-line text field, as `U+XXXX`."""
    for char in text:
        # Cc: C0/C1 controls incl. CR, LF, TAB; Cs: unpaired surrogates (not encodable as UTF-8);
        # Zl/Zp: U+2028/U+2029, which some clients treat as line breaks.
        if unicodedata.category(char) in {"Cc", "Cs", "Zl", "Zp"}:
            return f"U+{ord(char):04X}"
    return None


def _text(value: object, *, reason: Reason, max_chars: int) -> str:
    if not isinstance(value, str):
        raise _problem(Reason.WRONG_TYPE, f"must be a string, got {_json_type(value)}")
    bad = _forbidden_character(value)
    if bad is not None:
        raise _problem(reason, f"contains a control character ({bad})")
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise _problem(reason, "must not be empty")
    if len(text) > max_chars:
        raise _problem(reason, f"is {len(text)} characters long, the limit is {max_chars}")
    return text


def parse_order_id(value: object) -> str:
    if not isinstance(value, str):
        raise _problem(Reason.WRONG_TYPE, f"must be a string, got {_json_type(value)}")
    bad = _forbidden_character(value)
    if bad is not None:
        raise _problem(Reason.INVALID_ORDER_ID, f"contains a control character ({bad})")
    order_id = value.strip()
    if not order_id:
        raise _problem(Reason.INVALID_ORDER_ID, "must not be empty")
    if len(order_id) > MAX_ORDER_ID_CHARS:
        raise _problem(
            Reason.INVALID_ORDER_ID, f"is {len(order_id)} characters long, the limit is {MAX_ORDER_ID_CHARS}"
        )
    if len(order_id.encode("utf-8")) > MAX_ORDER_ID_BYTES:
        raise _problem(Reason.INVALID_ORDER_ID, f"is longer than {MAX_ORDER_ID_BYTES} bytes in UTF-8")
    return order_id


def _redact(message: str, address: str) -> str:
    """email-validator sometimes quotes parts of the address: keep them out of logs and the ledger."""
    local, _, domain = address.rpartition("@")
    for part in sorted({address, local, domain}, key=len, reverse=True):
        if len(part) >= 3:
            message = re.sub(re.escape(part), "…", message, flags=re.IGNORECASE)
    return message


def _email(value: object) -> str:
    if not isinstance(value, str):
        raise _problem(Reason.WRONG_TYPE, f"must be a string, got {_json_type(value)}")
    address = value.strip()
    if not address:
        raise _problem(Reason.INVALID_EMAIL, "must not be empty")
    if len(address) > MAX_EMAIL_CHARS:
        raise _problem(Reason.INVALID_EMAIL, f"is longer than {MAX_EMAIL_CHARS} characters")
    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise _problem(Reason.INVALID_EMAIL, f"is not a valid address: {_redact(str(exc), address)}") from None
    except (ValueError, UnicodeError):  # defensive: odd code points deep inside idna
        raise _problem(Reason.INVALID_EMAIL, "is not a valid address") from None
    return checked.ascii_email or checked.normalized


def normalized_email(value: object) -> str | None:
    """The address as a valid order stores it (`customerEmail` after validation), or None."""
    try:
        return _email(value)
    except PydanticCustomError:
        return None


def _name(value: object) -> str:
    """A customer's or an item's name (the field path in the message tells which)."""
    return _text(value, reason=Reason.INVALID_NAME, max_chars=MAX_NAME_CHARS)


def _sku(value: object) -> str | None:
    if value is None or value == "":
        return None
    return _text(value, reason=Reason.INVALID_SKU, max_chars=MAX_SKU_CHARS)


def _quantity(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _problem(Reason.WRONG_TYPE, f"must be an integer, got {_json_type(value)}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise _problem(Reason.INVALID_QUANTITY, "must be a finite number")
    if value < 1 or value > MAX_QUANTITY:
        raise _problem(Reason.INVALID_QUANTITY, f"must be between 1 and {MAX_QUANTITY}")
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise _problem(Reason.INVALID_QUANTITY, "must be a whole number")
        return int(value)
    return value


_DECIMAL_STRING = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def _amount(value: object, info: ValidationInfo) -> Decimal:
    if isinstance(value, bool):
        raise _problem(Reason.WRONG_TYPE, "must be a number or a decimal string, got a boolean")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):  # only when a caller hands over Python floats, never from the body
        amount = Decimal(repr(value))
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_STRING.fullmatch(text):
            raise _problem(Reason.INVALID_AMOUNT, "is not a decimal number")
        amount = Decimal(text)
    else:
        raise _problem(Reason.WRONG_TYPE, f"must be a number or a decimal string, got {_json_type(value)}")
    if not amount.is_finite():
        raise _problem(Reason.INVALID_AMOUNT, "must be a finite number (NaN and Infinity are not amounts)")
    if amount < 0:
        raise _problem(Reason.INVALID_AMOUNT, "must not be negative")
    if amount > MAX_AMOUNT:
        raise _problem(Reason.INVALID_AMOUNT, f"must not exceed {MAX_AMOUNT:,}")
    money = (info.context or {}).get("currency")
    if not isinstance(money, Currency):  # a programming error, not a bad order
        raise TypeError("amounts are validated with context={'currency': Currency}")
    quantized = amount.quantize(money.quantum)
    if quantized != amount:
        raise _problem(
            Reason.INVALID_AMOUNT,
            f"has more decimal places than {money.code} allows ({money.minor_units})",
        )
    return quantized if quantized != 0 else abs(quantized)  # no "-0.00"


def parse_currency(value: object) -> str:
    if not isinstance(value, str):
        raise _problem(Reason.WRONG_TYPE, f"must be a string, got {_json_type(value)}")
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise _problem(Reason.UNKNOWN_CURRENCY, "is not a supported ISO 4217 currency code")
    return code


def _timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise _problem(Reason.WRONG_TYPE, f"must be a string, got {_json_type(value)}")
    if len(value) > 64:
        raise _problem(Reason.INVALID_TIMESTAMP, "is not an ISO 8601 date-time")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _problem(Reason.INVALID_TIMESTAMP, "is not an ISO 8601 date-time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _problem(Reason.INVALID_TIMESTAMP, "has no time zone (add Z or an offset such as +02:00)")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise _problem(Reason.INVALID_TIMESTAMP, "is out of range") from None


def _json_safe_metadata(value: object, depth: int = 0) -> object:
    """A JSON-safe copy (Decimals as strings); rejects what JSON cannot carry or nests too deep."""
    if depth > MAX_METADATA_DEPTH:
        raise _problem(Reason.INVALID_METADATA, f"is nested deeper than {MAX_METADATA_DEPTH} levels")
    if isinstance(value, dict):
        return {
            _metadata_string(key): _json_safe_metadata(item, depth + 1) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_json_safe_metadata(item, depth + 1) for item in value]
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _problem(Reason.INVALID_METADATA, "contains NaN or Infinity, which JSON cannot carry")
        return str(value)
    if isinstance(value, str):
        return _metadata_string(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    raise _problem(Reason.INVALID_METADATA, f"contains a value of type {type(value).__name__}")


def _metadata_string(text: object) -> str:
    if not isinstance(text, str):
        raise _problem(Reason.INVALID_METADATA, "has a key that is not a string")
    if any(unicodedata.category(char) == "Cs" for char in text):
        raise _problem(Reason.INVALID_METADATA, "contains an unpaired surrogate")
    return text


def _metadata(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _problem(Reason.WRONG_TYPE, f"must be an object, got {_json_type(value)}")
    safe = _json_safe_metadata(value)
    size = len(canonical_json(safe).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise _problem(
            Reason.METADATA_TOO_LARGE, f"is {size} bytes serialized, the limit is {MAX_METADATA_BYTES}"
        )
    assert isinstance(safe, dict)
    return safe


def parse_customer_id(value: object) -> str:
    """The key of the shop's users table item (a string key; ids are not personal data here)."""
    return _text(value, reason=Reason.INVALID_CUSTOMER_ID, max_chars=MAX_CUSTOMER_ID_CHARS)


def _optional_customer_id(value: object) -> str | None:
    return None if value is None else parse_customer_id(value)


_LOCALE = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")


def _locale(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_LOCALE_CHARS or not _LOCALE.fullmatch(value.strip()):
        raise _problem(Reason.WRONG_TYPE, "must be a language tag such as en-US")
    return value.strip().replace("_", "-")


def _items(value: object) -> object:
    if not isinstance(value, list):
        raise _problem(Reason.WRONG_TYPE, f"must be an array, got {_json_type(value)}")
    if not value:
        raise _problem(Reason.NO_ITEMS, "must contain at least one item")
    if len(value) > MAX_ITEMS:
        raise _problem(Reason.TOO_MANY_ITEMS, f"has {len(value)} items, the limit is {MAX_ITEMS}")
    return value


# --- the model -----------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="ignore", frozen=True)


class OrderItem(_Model):
    name: Annotated[str, BeforeValidator(_name)]
    quantity: Annotated[int, BeforeValidator(_quantity)]
    unit_price: Annotated[Decimal, BeforeValidator(_amount)]
    sku: Annotated[str | None, BeforeValidator(_sku)] = None

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity

    def to_json_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"name": self.name, "quantity": self.quantity, "unitPrice": str(self.unit_price)}
        if self.sku is not None:
            item["sku"] = self.sku
        return item


class Order(_Model):
    """A validated order. Build it with `validate_order` (amount checks need the currency context)."""

    order_id: Annotated[str, BeforeValidator(parse_order_id)]
    customer_email: Annotated[str, BeforeValidator(_email)]
    customer_name: Annotated[str, BeforeValidator(_name)]
    items: Annotated[tuple[OrderItem, ...], BeforeValidator(_items)]
    total: Annotated[Decimal, BeforeValidator(_amount)]
    currency: Annotated[str, BeforeValidator(parse_currency)]
    timestamp: Annotated[datetime, BeforeValidator(_timestamp)]
    metadata: Annotated[dict[str, Any], BeforeValidator(_metadata)] = Field(default_factory=dict)
    # Only on orders whose customer was looked up by id: absent from to_json_dict otherwise, so the
    # normalized form (and payload hash) of every inline order is what it always was.
    customer_id: Annotated[str | None, BeforeValidator(_optional_customer_id)] = None
    customer_locale: Annotated[str | None, BeforeValidator(_locale)] = None

    @model_validator(mode="after")
    def _total_matches_items(self) -> Order:
        computed = sum((item.line_total for item in self.items), Decimal(0))
        if computed != self.total:
            difference = self.total - computed
            raise _problem(
                Reason.TOTAL_MISMATCH,
                f"{self.total} does not equal the sum of the items {computed} (difference {difference:+})",
                field="total",
            )
        return self

    def to_json_dict(self) -> dict[str, Any]:
        """The normalized order, JSON-safe (Decimals as strings such as "12.50")."""
        return {
            "orderId": self.order_id,
            "customerEmail": self.customer_email,
            "customerName": self.customer_name,
            "items": [item.to_json_dict() for item in self.items],
            "total": str(self.total),
            "currency": self.currency,
            "timestamp": iso_utc(self.timestamp),
            "metadata": self.metadata,
            **({"customerId": self.customer_id} if self.customer_id is not None else {}),
            **({"customerLocale": self.customer_locale} if self.customer_locale is not None else {}),
        }


@dataclass(frozen=True)
class ValidOrder:
    order: Order
    normalized: dict[str, Any]  # Order.to_json_dict()
    canonical_json: str
    payload_hash: str  # SHA-256 hex of canonical_json (UTF-8)

    @property
    def order_id(self) -> str:
        return self.order.order_id


# --- helpers shared with the handlers --------------------------------------------------------------


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z` suffix (microseconds only when present)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso_utc_millis(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, like Step Functions' `$$.State.EnteredTime`.

    Ledger times (`updatedAt` is the byStatus sort key) are compared as strings: one format for all.
    """
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical_json(value: object) -> str:
    """Sorted keys, no whitespace, UTF-8 text: the form the payload hash is computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    # surrogatepass: a hash must never fail, whatever text the queue handed over
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def body_size(body: str) -> int:
    return len(body.encode("utf-8", "surrogatepass"))


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {json.dumps(key)[:80]} in an object")
        result[key] = value
    return result


def parse_json(body: str) -> object:
    """Strict-enough JSON: Decimals for fractions, NaN/Infinity as non-finite Decimals, no duplicate keys."""
    return json.loads(
        body, parse_float=Decimal, parse_constant=Decimal, object_pairs_hook=_reject_duplicate_keys
    )


_ORDER_ID_HINT = re.compile(r'"orderId"\s*:\s*"([^"\\\x00-\x1f]{1,128})"')


def _order_id_hint_from_text(body: str) -> str | None:
    """For a body too large to parse: the orderId if exactly one plain one appears in it."""
    found = _ORDER_ID_HINT.findall(body)
    if len(found) != 1:
        return None
    return _valid_order_id_or_none(found[0])


def _valid_order_id_or_none(value: object) -> str | None:
    try:
        return parse_order_id(value)
    except PydanticCustomError:
        return None


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _describe(error: Any) -> tuple[Reason, str]:
    context = error.get("ctx") or {}
    path = _field_path(tuple(error["loc"])) or str(context.get("field", "order"))
    error_type = error["type"]
    if error_type in Reason._value2member_map_:
        return Reason(error_type), f"{path}: {context.get('detail', error['msg'])}"
    if error_type == "missing":
        return Reason.MISSING_FIELD, f"{path}: is required"
    if error_type in {"model_type", "dict_type", "model_attributes_type"}:
        return Reason.WRONG_TYPE, f"{path}: must be an object, got {_json_type(error.get('input'))}"
    return Reason.WRONG_TYPE, f"{path}: has the wrong type ({_json_type(error.get('input'))})"


def _rejection_from(error: ValidationError, order_id: str | None) -> Rejection:
    problems = [_describe(item) for item in error.errors(include_url=False)]
    reason = problems[0][0]
    message = "; ".join(text for _, text in problems[:MAX_PROBLEMS_IN_MESSAGE])
    if len(problems) > MAX_PROBLEMS_IN_MESSAGE:
        message += f" (and {len(problems) - MAX_PROBLEMS_IN_MESSAGE} more problems)"
    return Rejection(reason, message, order_id=order_id)


def order_from_normalized(data: dict[str, Any]) -> Order:
    """Re-validate a normalized order (the Validate step's output) before it is used again.

    Raises Rejection when the document does not hold a valid order.
    """
    order_id = _valid_order_id_or_none(data.get("orderId"))
    try:
        money = CURRENCIES[parse_currency(data.get("currency"))]
        return Order.model_validate(data, context={"currency": money})
    except PydanticCustomError as exc:
        raise Rejection(Reason(exc.type), f"currency: {(exc.context or {}).get('detail')}", order_id=order_id) from None
    except ValidationError as exc:
        raise _rejection_from(exc, order_id) from None


def validate_order(
    body: object,
    *,
    default_currency: str,
    customer_lookup: bool = False,
    customer: LookedUpCustomer | None = None,
) -> ValidOrder:
    """Validate one raw order message body; raise `Rejection` when it cannot be accepted.

    An order with a `customerId` and no `customerEmail` needs `customer_lookup` (context usersTable):
    without `customer` it raises `CustomerLookupNeeded` once the rest of it is valid; with the
    looked-up `customer` it validates that customer like an inline one (reason `unknown_customer`).
    """
    if not isinstance(body, str):
        raise Rejection(Reason.WRONG_TYPE, f"body: must be a string, got {_json_type(body)}")
    size = body_size(body)
    if size > MAX_BODY_BYTES:
        raise Rejection(
            Reason.TOO_LARGE,
            f"body: is {size} bytes, the limit is {MAX_BODY_BYTES}",
            order_id=_order_id_hint_from_text(body),
        )
    if not body.strip():
        raise Rejection(Reason.EMPTY_BODY, "body: is empty")
    try:
        data = parse_json(body)
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError says where ("line 1 column 7"), never what: safe to store.
        raise Rejection(Reason.NOT_JSON, f"body: is not valid JSON ({str(exc)[:200]})") from None
    if not isinstance(data, dict):
        raise Rejection(Reason.NOT_AN_OBJECT, f"body: must be a JSON object, got {_json_type(data)}")

    order_id = _valid_order_id_or_none(data.get("orderId"))
    raw_currency = data.get("currency")
    try:
        money = CURRENCIES[parse_currency(default_currency if raw_currency is None else raw_currency)]
    except PydanticCustomError as exc:
        detail = (exc.context or {}).get("detail", exc.message())
        raise Rejection(Reason(exc.type), f"currency: {detail}", order_id=order_id) from None
    # customerId/customerLocale count only for an order looked up by id: an inline order that
    # happens to carry them normalizes (and hashes) exactly as before.
    fields = {key: value for key, value in data.items() if key not in _LOOKED_UP_ONLY}
    fields["currency"] = money.code
    looked_up = data.get("customerEmail") is None and data.get("customerId") is not None
    if looked_up:
        fields = _with_customer(fields, data, order_id, money, customer_lookup=customer_lookup, customer=customer)
    try:
        order = Order.model_validate(fields, context={"currency": money})
    except ValidationError as exc:
        raise _rejection_from(exc, order_id) from None

    normalized = order.to_json_dict()
    canonical = canonical_json(normalized)
    if looked_up:
        # The hash covers what the shop sent (the id), not what the table said: a republish after
        # the customer changed their address is the same order, not a payload conflict.
        canonical = canonical_json({k: v for k, v in normalized.items() if k not in _LOOKED_UP_FIELDS})
    return ValidOrder(order=order, normalized=normalized, canonical_json=canonical, payload_hash=sha256_hex(canonical))


# --- customer lookup by id (context usersTable) ----------------------------------------------------

_LOOKED_UP_ONLY: Final = frozenset({"customerId", "customerLocale"})
_LOOKED_UP_FIELDS: Final = frozenset({"customerEmail", "customerName", "customerLocale"})
# Stands in for the customer while the rest of an order by id is checked before the lookup, so a
# broken order is rejected without a read of the users table. Never stored or sent.
_STAND_IN: Final = {"customerEmail": "customer@example.com", "customerName": "customer"}


@dataclass(frozen=True)
class LookedUpCustomer:
    """What the users table holds for a customerId (`found=False`: no item). Values unchecked."""

    found: bool
    email: object = None
    name: object = None
    locale: object = None


class CustomerLookupNeeded(Exception):
    """The order is valid but names its customer by id only: read the users table, then validate again."""

    def __init__(self, *, order_id: str, customer_id: str) -> None:
        super().__init__(f"order {order_id}: customer {customer_id} to be looked up")
        self.order_id = order_id
        self.customer_id = customer_id


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _with_customer(
    fields: dict[str, Any],
    data: dict[str, Any],
    order_id: str | None,
    money: Currency,
    *,
    customer_lookup: bool,
    customer: LookedUpCustomer | None,
) -> dict[str, Any]:
    """The order's fields with the looked-up customer; raises CustomerLookupNeeded before the lookup."""
    if not customer_lookup:
        raise Rejection(
            Reason.MISSING_FIELD,
            "customerEmail: is required (an order with only a customerId needs the customer lookup, "
            "context usersTable, which this deployment does not configure)",
            order_id=order_id,
        )
    try:
        customer_id = parse_customer_id(data.get("customerId"))
    except PydanticCustomError as exc:
        detail = (exc.context or {}).get("detail", exc.message())
        raise Rejection(Reason(exc.type), f"customerId: {detail}", order_id=order_id) from None
    if customer is None:
        try:
            Order.model_validate({**fields, **_STAND_IN}, context={"currency": money})
        except ValidationError as exc:
            raise _rejection_from(exc, order_id) from None
        assert order_id is not None  # a valid order has one
        raise CustomerLookupNeeded(order_id=order_id, customer_id=customer_id)

    who = f"customerId {_quoted(customer_id)}"
    if not customer.found:
        raise Rejection(Reason.UNKNOWN_CUSTOMER, f"{who}: no such customer in the users table", order_id=order_id)
    email = normalized_email(customer.email)
    if email is None:  # the message never repeats what the table holds
        raise Rejection(
            Reason.UNKNOWN_CUSTOMER,
            f"{who}: the users table has no valid e-mail address for this customer",
            order_id=order_id,
        )
    name = customer.name if customer.name is not None else data.get("customerName")
    try:
        name = _name(name)
    except PydanticCustomError:
        raise Rejection(
            Reason.UNKNOWN_CUSTOMER, f"{who}: the users table has no valid name for this customer", order_id=order_id
        ) from None
    try:
        locale = _locale(customer.locale)
    except PydanticCustomError:
        locale = None  # optional: an unusable locale falls back to the shop's default, the mail still goes
    return {**fields, "customerEmail": email, "customerName": name, "customerId": customer_id,
            "customerLocale": locale}
