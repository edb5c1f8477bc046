"""ISO 4217 currencies the system accepts, their minor units, and how money is written in a mail.

Money is formatted one way everywhere (mail body, text part, subject):
- a currency with its own unambiguous sign gets it as a prefix: `$12.50`, `€9.99`, `£5.00`, `¥1,200`;
- dollar-, yuan- and real-like currencies get a disambiguating prefix: `CA$12.50`, `A$…`, `CN¥…`, `R$…`;
- every other currency is written code first: `CHF 12.50`, `KWD 1.250`, `SEK 99.00`.
Digits are grouped with `,` and the decimal separator is `.` (the mail is written in English), with
exactly the currency's minor-unit count of decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final


@dataclass(frozen=True)
class Currency:
    code: str
    minor_units: int
    symbol: str | None = None  # None: write the code before the amount

    @property
    def quantum(self) -> Decimal:
        """The smallest amount, e.g. Decimal("0.01") for USD, Decimal("1") for JPY."""
        return Decimal(1).scaleb(-self.minor_units)


def _table(*entries: Currency) -> dict[str, Currency]:
    return {entry.code: entry for entry in entries}


CURRENCIES: Final[dict[str, Currency]] = _table(
    # two minor units
    Currency("USD", 2, "$"),
    Currency("EUR", 2, "€"),
    Currency("GBP", 2, "£"),
    Currency("CAD", 2, "CA$"),
    Currency("AUD", 2, "A$"),
    Currency("NZD", 2, "NZ$"),
    Currency("HKD", 2, "HK$"),
    Currency("SGD", 2, "S$"),
    Currency("MXN", 2, "MX$"),
    Currency("BRL", 2, "R$"),
    Currency("CNY", 2, "CN¥"),
    Currency("INR", 2, "₹"),
    Currency("ILS", 2, "₪"),
    Currency("TRY", 2, "₺"),
    Currency("CHF", 2),
    Currency("SEK", 2),
    Currency("NOK", 2),
    Currency("DKK", 2),
    Currency("PLN", 2),
    Currency("CZK", 2),
    Currency("HUF", 2),  # ISO 4217 says 2, even though cash has no fillér any more
    Currency("ZAR", 2),
    Currency("AED", 2),
    Currency("SAR", 2),
    Currency("TWD", 2),
    Currency("THB", 2),
    Currency("MYR", 2),
    Currency("PHP", 2),
    Currency("IDR", 2),
    Currency("RON", 2),
    Currency("ARS", 2),
    Currency("COP", 2),
    Currency("PEN", 2),
    Currency("EGP", 2),
    Currency("NGN", 2),
    Currency("KES", 2),
    Currency("PKR", 2),
    Currency("UAH", 2),
    # zero minor units
    Currency("JPY", 0, "¥"),
    Currency("KRW", 0, "₩"),
    Currency("ISK", 0),
    Currency("CLP", 0),
    Currency("VND", 0),
    Currency("UGX", 0),
    Currency("PYG", 0),
    Currency("XOF", 0),
    Currency("XAF", 0),
    # three minor units
    Currency("KWD", 3),
    Currency("BHD", 3),
    Currency("JOD", 3),
    Currency("OMR", 3),
    Currency("TND", 3),
    Currency("IQD", 3),
    Currency("LYD", 3),
)


def currency(code: str) -> Currency:
    """The currency for an upper-case ISO code; KeyError when it is not in the table."""
    return CURRENCIES[code]


def format_money(amount: Decimal, code: str) -> str:
    """`$1,234.50`, `¥1,200`, `KWD 1.250` — see the module docstring for the rule."""
    info = CURRENCIES[code]
    quantized = amount.quantize(info.quantum)
    if quantized == 0:
        quantized = abs(quantized)  # never print "-0.00"
    number = f"{quantized:,.{info.minor_units}f}"
    if info.symbol is None:
        return f"{info.code}\u00a0{number}"  # no-break space keeps code and amount on one line
    return f"{info.symbol}{number}"
