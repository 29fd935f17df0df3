"""Rule types, messages (:class:`Msg`), results and the number helpers every part uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, DecimalException, InvalidOperation
from typing import Any

Value = Decimal | str | None

RULE_TYPES: tuple[str, ...] = (
    "yes_no",
    "levels",
    "ratio",
    "count_bands",
    "threshold_bands",
    "target",
    "manual",
    "informational",
    "external",
)

#: Measure kinds whose contributions from several agencies are added up.
COMBINABLE_SUM_KINDS = frozenset({"numerator", "denominator", "count", "number"})
#: Measure kinds that carry a number (usable where a rule needs a quantity).
NUMERIC_KINDS = frozenset({"numerator", "denominator", "count", "number", "percent", "rate"})

_PRECISION = 40
_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_TRUE_WORDS = {"1", "true", "yes", "có", "co", "đạt", "x"}
_FALSE_WORDS = {"0", "false", "no", "không", "khong", "chưa", "chua", ""}


def gettext_noop(message: str) -> str:
    """Marks a msgid for ``makemessages`` (the name it looks for) and returns it unchanged.
    Django's own needs configured settings; the rules and the engine stay importable without."""
    return message


class Msg:
    """A sentence for people, kept structured: a gettext msgid (the Vietnamese text, with
    ``%(name)s`` placeholders) and its arguments (numbers as ``Decimal``, nested messages, or
    plain text such as a level's label). ``str()`` is the Vietnamese sentence (stored, exported,
    audited); :func:`render_message` of :meth:`as_json` shows it in the reader's language with
    their number format (``12,5`` in Vietnamese, ``12.5`` in English)."""

    __slots__ = ("args", "template")

    def __init__(self, template: str, **args: Any) -> None:
        self.template = template
        self.args = args

    def __str__(self) -> str:
        return self.template % {k: _plain_arg(v) for k, v in self.args.items()}

    def __repr__(self) -> str:
        return f"Msg({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and self.as_json() == other.as_json()

    def __hash__(self) -> int:
        return hash(str(self))

    def as_json(self) -> list[Any]:
        """``[msgid, {name: text | {"n": number} | {"m": message}}]``."""
        return [self.template, {k: _json_arg(v) for k, v in self.args.items()}]

    def render(self) -> str:
        """The sentence in the active language, numbers in its format."""
        return render_message(self.as_json(), str(self))


def _plain_arg(v: Any) -> str:
    return _fmt(v) if isinstance(v, Decimal) else str(v)


def _json_arg(v: Any) -> Any:
    if isinstance(v, Decimal):
        return {"n": _fmt(v)}
    if isinstance(v, Msg):
        return {"m": v.as_json()}
    return str(v)


def render_message(data: Any, fallback: str = "") -> str:
    """A message stored as :meth:`Msg.as_json` in the active language, numbers formatted for
    it; ``fallback`` (the stored Vietnamese text) when ``data`` is not such a message (older
    snapshots)."""
    from django.utils.formats import number_format
    from django.utils.translation import gettext

    if not (
        isinstance(data, list)
        and len(data) == 2
        and isinstance(data[0], str)
        and isinstance(data[1], dict)
    ):
        return fallback
    template, args = data
    out: dict[str, str] = {}
    for name, v in args.items():
        if isinstance(v, dict) and "n" in v:
            number = to_decimal(v["n"])
            out[name] = str(v["n"]) if number is None else number_format(number, use_l10n=True)
        elif isinstance(v, dict) and "m" in v:
            out[name] = render_message(v["m"])
        else:
            out[name] = str(v)
    for text in (gettext(template), template):
        try:
            return text % out
        except (KeyError, TypeError, ValueError):  # a placeholder without its argument
            continue
    return fallback or template


@dataclass(frozen=True)
class RuleResult:
    """The outcome of applying a rule to values.

    ``points``: full precision, within [0, max_points]. ``warnings``: Vietnamese messages about
    the data (zero denominator, value out of range…). ``explanation``: a Vietnamese sentence
    showing the computation. ``complete``: False when a required value is missing or unreadable
    (points are then 0). ``messages``: the explanation then the warnings, structured
    (:class:`Msg`), for display in the reader's language.
    """

    points: Decimal
    warnings: tuple[str, ...]
    explanation: str
    complete: bool
    messages: tuple[Msg, ...] = field(default=(), compare=False)

    @classmethod
    def of(
        cls, points: Decimal, warnings: Sequence[Msg], explanation: Msg, complete: bool = True
    ) -> RuleResult:
        return cls(
            points,
            tuple(str(w) for w in warnings),
            str(explanation),
            complete,
            (explanation, *warnings),
        )

    @property
    def explanation_msg(self) -> Msg | None:
        return self.messages[0] if self.messages else None

    @property
    def warning_msgs(self) -> tuple[Msg, ...]:
        return self.messages[1:]

    def explanation_text(self) -> str:
        """The explanation in the active language (for a page or an API answer)."""
        msg = self.explanation_msg
        return msg.render() if msg is not None else self.explanation

    def warning_texts(self) -> list[str]:
        """The warnings in the active language."""
        if not self.messages:
            return list(self.warnings)
        return [w.render() for w in self.warning_msgs]


# --- helpers -------------------------------------------------------------------------------------


def to_decimal(value: Any) -> Decimal | None:
    """Reads a stored value as a finite Decimal; None when missing or unreadable.

    Accepts Decimal, int, bool and decimal strings ("12.5"; surrounding spaces ignored). Floats are
    converted through ``str`` so that 0.1 stays 0.1.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return _ONE if value else _ZERO
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            d = Decimal(text)
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def round_display(value: Decimal | str | None, places: int = 4) -> Decimal | None:
    """Rounds a full-precision figure for display: ROUND_HALF_UP to ``places`` decimals; the
    figure unrounded when it is too large to round in the context's precision (odd stored data
    must not break a page)."""
    d = to_decimal(value)
    if d is None:
        return None
    try:
        return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except DecimalException:
        return d


def _fmt(d: Decimal) -> str:
    """Short human form of a number for explanations (at most 4 decimals, no trailing zeros);
    its plain ``str`` when too large to round (``1E+30`` from odd stored data)."""
    try:
        q = d.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        return format(q.normalize(), "f")
    except DecimalException:
        return str(d)


def _clamp(points: Decimal, max_points: Decimal) -> Decimal:
    if points < _ZERO:
        return _ZERO
    if points > max_points:
        return max_points
    return points


def _fraction(raw: Any) -> Decimal | None:
    d = to_decimal(raw)
    if d is None or d < _ZERO or d > _ONE:
        return None
    return d


def _read_number(
    values: Mapping[str, Value], code: str, label: Msg, warnings: list[Msg]
) -> Decimal | None:
    """A non-negative number from ``values[code]``; None (with a warning when present) otherwise."""
    raw = values.get(code)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    d = to_decimal(raw)
    if d is None:
        warnings.append(
            Msg(
                gettext_noop("Giá trị “%(raw)s” của %(label)s không phải là số."),
                raw=raw,
                label=label,
            )
        )
        return None
    if d < _ZERO:
        warnings.append(
            Msg(
                gettext_noop("Giá trị của %(label)s không được âm (%(value)s)."),
                label=label,
                value=d,
            )
        )
        return None
    return d


def _read_bool(values: Mapping[str, Value], code: str, warnings: list[Msg]) -> bool | None:
    raw = values.get(code)
    if raw is None:
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return None if word == "" else False
    d = to_decimal(raw)
    if d is None:
        warnings.append(Msg(gettext_noop("Giá trị “%(raw)s” không phải là Có/Không."), raw=raw))
        return None
    return d != _ZERO


def _sorted_bands(bands: Sequence[Mapping[str, Any]], key: str) -> list[tuple[Decimal, Decimal]]:
    """(min, points-or-fraction) pairs, highest ``min`` first, unreadable bands skipped."""
    out = []
    for band in bands:
        lo, val = to_decimal(band.get("min")), to_decimal(band.get(key))
        if lo is not None and val is not None:
            out.append((lo, val))
    out.sort(key=lambda p: p[0], reverse=True)
    return out


def _missing(explanation: Msg, warnings: Sequence[Msg]) -> RuleResult:
    return RuleResult.of(_ZERO, warnings, explanation, False)


def measures_used(rule: Mapping[str, Any]) -> list[str]:
    """The measure codes a rule reads, in a stable order."""
    kind = rule.get("type")
    if kind in ("ratio",) or (kind == "threshold_bands" and "numerator" in rule):
        return [str(rule.get("numerator", "")), str(rule.get("denominator", ""))]
    if kind == "informational":
        return []
    return [str(rule.get("measure", ""))]
