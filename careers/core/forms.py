"""Forms and query strings → typed msgspec Structs, with one message per field.

A form is a msgspec Struct whose fields carry their reading rule in `Annotated[...]`:

    class AlertForm(msgspec.Struct, kw_only=True):
        email: Annotated[str, Text(254, required="Enter your email address.")] = ""
        daily: Annotated[bool, Boolean()] = False

    form, errors = read(AlertForm, source)

The source is any mapping of name → value: a Litestar form or query multidict, `dict[str, list[str]]`
from a query string, or a JSON object with typed values (the importer). A field that cannot be read keeps
its rule's default and gets a message, so the domain's cross-field rules still run and a page shows every
message at once. Messages are the domain's words, given to each rule; nothing here knows HTTP or a domain.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import typing
import unicodedata
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, NamedTuple, TypeVar

import msgspec

T = TypeVar("T", bound=msgspec.Struct)
Report = Callable[[str], None]
_WHOLE = re.compile(r"[+-]?[0-9]+")
TRUE_WORDS = frozenset({"1", "true", "on", "yes", "y"})
FALSE_WORDS = frozenset({"", "0", "false", "off", "no", "n"})


class FormErrors(dict[str, str]):
    """Field name → the message shown beside it. `add` keeps a field's first message; `[]=` replaces it."""

    def add(self, field: str, message: str) -> None:
        self.setdefault(field, message)

    def ordered(self, fields: Collection[str]) -> FormErrors:
        """The same messages with `fields` first, in that order (the first one is the headline)."""
        out = FormErrors({f: self[f] for f in fields if f in self})
        out.update(self)
        return out

    def first(self) -> tuple[str, str]:
        return next(iter(self.items()))


class Parsed(NamedTuple, Generic[T]):
    """What `read` returns: the Struct (bad fields hold their default) and the messages."""

    value: T
    errors: FormErrors


def raw_value(source: Mapping[str, Any], name: str) -> Any:
    """One field as given: a multidict's repeated values become a list, a missing field None."""
    getall = getattr(source, "getall", None)
    if getall is not None:
        values = getall(name, [])
        return None if not values else values[0] if len(values) == 1 else list(values)
    return source.get(name)


def text_value(source: Mapping[str, Any], name: str) -> str:
    """A field's first non-empty text, stripped ("" when missing or not text); for fields named at run time."""
    return _scalar(raw_value(source, name)) or ""


def _scalar(raw: Any, *, last: bool = False) -> Any:
    """The one value of a field that may arrive repeated: the first (or last) non-empty one."""
    if isinstance(raw, list):
        given = [v for v in raw if not (isinstance(v, str) and not v.strip())]
        if not given:
            return ""
        raw = given[-1] if last else given[0]
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw.strip()
    return raw


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029"


def has_control_characters(value: str) -> bool:
    """True when `value` holds a control character (CR, LF, tab, NUL, …) or a Unicode line/paragraph separator:
    what no single-line field (a title, a name, an organisation) may contain."""
    return any(_is_control(ch) for ch in value)


def _cased(value: str, case: str | None) -> str:
    return value.lower() if case == "lower" else value.upper() if case == "upper" else value


@dataclasses.dataclass(frozen=True)
class Rule:
    """How one field is read. Subclasses implement `read(raw, report)` and return the field's value (their
    `default` when it is blank or unreadable); messages are format strings given by the domain."""

    def read(self, raw: Any, report: Report) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Text(Rule):
    """Stripped text, optionally required, bounded and case-folded; numbers in JSON read as their text."""

    max_length: int | None = None
    required: str | None = None
    too_long: str = "Use at most {max:,} characters (this has {length:,})."
    not_text: str = "Enter text here."
    min_length: int = 0
    too_short: str = ""
    case: str | None = None  # "lower" or "upper"
    squash: bool = False  # runs of white space become one space (search words)
    multiline: bool = False  # line breaks allowed (descriptions); single-line fields refuse control characters
    control: str = "Use one line of plain text here: no line breaks or control characters."
    default: Any = ""

    def read(self, raw: Any, report: Report) -> Any:
        value = _scalar(raw)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            report(self.not_text)
            return self.default
        value = _cased(" ".join(str(value).split()) if self.squash else str(value).strip(), self.case)
        if self.squash:
            value = "".join(ch for ch in value if not _is_control(ch))  # a search box: drop them, nothing is kept
        if not value:
            if self.required:
                report(self.required)
            return self.default
        if not self.multiline and has_control_characters(value):
            report(self.control)  # CR/LF in a title or name would end up in mail headers and one-line displays
        elif self.max_length is not None and len(value) > self.max_length:
            report(self.too_long.format(max=self.max_length, length=len(value)))
        elif len(value) < self.min_length:
            report(self.too_short)
        return value


@dataclasses.dataclass(frozen=True)
class Choice(Text):
    """One value from a vocabulary (its keys); an unknown value is kept as given and reported."""

    allowed: Collection[str] = ()
    unknown: str = "“{value}” is not one of: {allowed}."

    def read(self, raw: Any, report: Report) -> Any:
        errors: list[str] = []
        value = super().read(raw, errors.append)
        for message in errors:
            report(message)
        if not errors and value != self.default and value not in self.allowed:
            report(self.unknown.format(value=value, allowed=", ".join(self.allowed)))
        return value


@dataclasses.dataclass(frozen=True)
class Choices(Rule):
    """Several values (repeated fields, a JSON list, or one comma-separated string), stripped and de-duplicated.

    With `allowed`, values outside it are reported (`{unknown}`: all of them, cased; `{raw}`: the first as
    typed) and dropped. `order` is "input", "vocabulary" (the order of `allowed`) or "sorted".
    """

    allowed: Collection[str] | None = None
    unknown: str = "Unknown value: {unknown}."
    not_list: str = "Give a list of values."
    case: str | None = None
    order: str = "input"

    def items(self, raw: Any, report: Report) -> list[str]:
        if raw is None or raw == "":
            return []
        values = [raw] if isinstance(raw, str) else raw
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            report(self.not_list)
            return []
        seen: list[str] = []
        for value in values:
            for part in value.split(","):  # "TX,FL" reads like "TX" and "FL"
                part = part.strip()
                if part and part not in seen:
                    seen.append(part)
        return seen

    def read(self, raw: Any, report: Report) -> Any:
        typed = self.items(raw, report)
        values = list(dict.fromkeys(_cased(v, self.case) for v in typed))
        if self.order == "sorted":
            values = sorted(values)
        if self.allowed is None:
            return values
        unknown = [v for v in values if v not in self.allowed]
        if unknown:
            first = next(v for v in typed if _cased(v, self.case) in unknown)
            report(self.unknown.format(unknown=", ".join(unknown), raw=first, allowed=", ".join(self.allowed)))
        if self.order == "vocabulary":
            return [v for v in self.allowed if v in values]
        return [v for v in values if v in self.allowed]


@dataclasses.dataclass(frozen=True)
class Boolean(Rule):
    """Yes or no from the words in `true_words`/`false_words` (JSON booleans too); with `any_text`, any text is yes."""

    invalid: str = "Answer yes or no (true or false)."
    true_words: frozenset[str] = TRUE_WORDS
    false_words: frozenset[str] = FALSE_WORDS
    any_text: bool = False  # a checkbox: present means yes
    default: Any = False

    def read(self, raw: Any, report: Report) -> Any:
        value = _scalar(raw, last=True)  # a hidden "0" before its checkbox's "1": the checkbox wins
        if isinstance(value, bool):
            return value
        if self.any_text:
            return isinstance(value, str) and bool(value)
        word = value.lower() if isinstance(value, str) else None
        if word in self.true_words:
            return True
        if word not in self.false_words:
            report(self.invalid)
        return False


@dataclasses.dataclass(frozen=True)
class Integer(Rule):
    """A whole number from `low` to `high`; blank is `default`. `thousands` reads "52,000" and "$52,000"."""

    low: int = 0
    high: int = 2**31 - 1
    invalid: str = "Enter a whole number, for example 2."
    out_of_range: str = "Enter a number from {low} to {high}."
    thousands: bool = False
    default: Any = None

    def read(self, raw: Any, report: Report) -> Any:
        value = _scalar(raw)
        if value == "":
            return self.default
        if isinstance(value, str):
            text = value.replace(",", "").replace("$", "").strip() if self.thousands else value
            number = int(text) if _WHOLE.fullmatch(text) else None
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        else:
            number = None
        if number is None:
            report(self.invalid)
            return self.default
        if not self.low <= number <= self.high:
            report(self.out_of_range.format(low=self.low, high=self.high))
            return self.default
        return number


@dataclasses.dataclass(frozen=True)
class Money(Rule):
    """Dollars as a Decimal ("$1,250.50" reads); blank is None, or `required` is reported.

    `cents`: the message for more than two decimals, or None to round to cents instead.
    """

    required: str | None = None
    invalid: str = "Enter an amount in dollars, for example 23.50."
    not_positive: str = "Enter an amount above zero."
    cents: str | None = "Use dollars and cents, at most two decimal places (for example 23.50)."
    allow_zero: bool = False
    maximum: Decimal | None = None
    too_big: str = ""
    default: Any = None

    def read(self, raw: Any, report: Report) -> Any:
        value = _scalar(raw)
        if value == "":
            if self.required:
                report(self.required)
            return None
        try:
            if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
                raise InvalidOperation
            amount = Decimal(str(value).replace("$", "").replace(",", "").strip())
        except InvalidOperation:
            report(self.invalid)
            return None
        if not amount.is_finite() or amount < 0 or (amount == 0 and not self.allow_zero):
            report(self.not_positive)
            return None
        if self.maximum is not None and amount > self.maximum:
            report(self.too_big)
            return None
        try:
            rounded = amount.quantize(Decimal("0.01"))
        except InvalidOperation:
            return amount  # too large to hold cents: the domain's own limit speaks
        if rounded != amount and self.cents:
            report(self.cents)
            return None
        return rounded


@dataclasses.dataclass(frozen=True)
class Date(Text):
    """A calendar date written YYYY-MM-DD (a longer ISO time keeps its date); blank is None."""

    invalid: str = "Enter a date as YYYY-MM-DD, for example 2027-03-31."
    max_length: int | None = 40
    default: Any = None

    def read(self, raw: Any, report: Report) -> Any:
        if isinstance(raw, dt.date):
            return raw
        errors: list[str] = []
        text = super().read(raw, errors.append)
        for message in errors:
            report(message)
        if errors or not text:
            return None
        try:
            if len(text) < 10:
                raise ValueError(text)
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            report(self.invalid)
            return None


@functools.cache
def rules(form: type[msgspec.Struct]) -> tuple[tuple[str, Rule], ...]:
    """Each field of `form` with its rule (from `Annotated[...]`), in declaration order."""
    hints = typing.get_type_hints(form, include_extras=True)
    found = []
    for field in msgspec.structs.fields(form):
        rule = next((m for m in getattr(hints[field.name], "__metadata__", ()) if isinstance(m, Rule)), None)
        if rule is None:
            raise TypeError(f"{form.__name__}.{field.name} has no forms rule in Annotated[...]")
        found.append((field.name, rule))
    return tuple(found)


def field_names(form: type[msgspec.Struct]) -> tuple[str, ...]:
    """The fields of `form` in declaration order (for `FormErrors.ordered`)."""
    return tuple(name for name, _ in rules(form))


_READ = object()  # a missing field whose rule must run (it reports, or its value is not a constant)


def _when_missing(rule: Rule) -> Any:
    """What `rule` reads from a missing field, when that is a constant (no message; an immutable value or an empty
    list); else _READ. Rules are pure functions of what they read, so this is worked out once per form."""
    reported: list[str] = []
    value = rule.read(None, reported.append)
    if reported or not (value is None or value == [] or isinstance(value, (str, int, float, bool, tuple, frozenset))):
        return _READ
    return value


@functools.cache
def _fields(form: type[msgspec.Struct]) -> tuple[tuple[str, Rule, Any], ...]:
    return tuple((name, rule, _when_missing(rule)) for name, rule in rules(form))


def read(form: type[T], source: Mapping[str, Any]) -> Parsed[T]:
    """Read every field of `form` from `source` by its rule; never raises for bad input."""
    errors = FormErrors()
    values = {}
    multidict = hasattr(source, "getall")
    for name, rule, missing in _fields(form):
        raw = raw_value(source, name) if multidict else source.get(name)
        if raw is None and missing is not _READ:  # a search reads 20 fields and is given two or three
            values[name] = [] if missing == [] else missing
        else:
            values[name] = rule.read(raw, functools.partial(errors.add, name))
    return Parsed(form(**values), errors)
