"""The W7 leg (SPEC W7, J1): one definition, one set of rules, one error format.

Both the walkthrough builder and the journal's order ticket validate legs here and store them
exactly as posted: every key required, strings stay strings ("500" comes back "500", never
"500.00"). Field errors come back flat, `{"legs[i].field": [...]}`, like the walkthrough's
rule errors; a whole-trade problem is keyed `legs`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal

from django.db import models
from django.db.models import Q
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

MAX_QUANTITY = 1_000_000
MAX_LEGS = 8

# Expiries a ticket may name (documented in docs/api.md): real dates in this century.
EXPIRY_MIN = dt.date(2000, 1, 1)
EXPIRY_MAX = dt.date(2099, 12, 31)


class StrategyType(models.TextChoices):
    """The three strategies of the W7 ticket; one enum in the OpenAPI schema."""

    IRON_CONDOR = "iron_condor", "Iron condor"
    VERTICAL_SPREAD = "vertical_spread", "Vertical spread"
    COVERED_CALL = "covered_call", "Covered call"


def strategy_type_check(*, name: str, nullable: bool = False) -> models.CheckConstraint:
    """The CHECK behind every strategy_type column: one of StrategyType (or NULL if allowed)."""
    valid = Q(strategy_type__in=StrategyType.values)
    return models.CheckConstraint(
        condition=Q(strategy_type__isnull=True) | valid if nullable else valid, name=name
    )


# ASCII digits only ([0-9], never \d, which matches every Unicode digit in Python), no sign,
# exponent or whitespace, never zero; at most 7 integer and 4 fraction digits. The same text is the
# OpenAPI pattern, so a generated client and the server agree on every string.
STRIKE_PATTERN = (
    r"^(?:[1-9][0-9]{0,6}(?:\.[0-9]{1,4})?|0\.(?:[1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))$"
)
# Money with a sign allowed (realized P&L; zero is unsigned): 12 integer digits and 2 fraction digits fit
# DECIMAL(14, 2) exactly, so a valid string is stored without rounding.
SIGNED_MONEY_PATTERN = (
    r"^(?:-?(?:[1-9][0-9]{0,11}(?:\.[0-9]{1,2})?|0\.(?:[1-9][0-9]?|0[1-9]))|0(?:\.[0-9]{1,2})?)$"
)
# Exactly the real dates 2000-01-01 .. 2099-12-31 (every year divisible by 4 is a leap year in
# that range), so the schema's pattern and the server agree on every string.
EXPIRY_PATTERN = (
    r"^(?:20[0-9]{2}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)|20(?:[02468][048]|[13579][26])-02-29)$"
)

_STRIKE_RE = re.compile(STRIKE_PATTERN, re.ASCII)
_SIGNED_MONEY_RE = re.compile(SIGNED_MONEY_PATTERN, re.ASCII)
_EXPIRY_RE = re.compile(EXPIRY_PATTERN, re.ASCII)


def parse_strike(value: object) -> str | None:
    """The strike exactly as sent when it is a valid positive decimal string, else None."""
    if isinstance(value, str) and _STRIKE_RE.fullmatch(value) and Decimal(value) > 0:
        return value
    return None


def parse_signed_money(value: object) -> Decimal | None:
    """A signed money string ("-12.5", "300") as a Decimal, else None. "-0" is refused."""
    if not isinstance(value, str) or not _SIGNED_MONEY_RE.fullmatch(value):
        return None
    number = Decimal(value)
    if value.startswith("-") and number == 0:
        return None  # "-0" and "-0.00": zero has no sign
    return number


def parse_expiry(value: object) -> str | None:
    """The expiry exactly as sent when it is a real date in the documented range, else None."""
    if not isinstance(value, str) or not _EXPIRY_RE.fullmatch(value):
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:  # 2026-02-30
        return None
    return value if EXPIRY_MIN <= day <= EXPIRY_MAX else None


class _ParsedStringField(serializers.Field):
    """A JSON string read by `parse` (None: invalid, with the field's own message); the
    value goes back out exactly as it came in."""

    parse: Callable[[object], object | None]

    def to_internal_value(self, data):
        value = self.parse(data)
        if value is None:
            self.fail("invalid")
        return value

    def to_representation(self, value):
        return value


@extend_schema_field({"type": "string", "pattern": STRIKE_PATTERN, "maxLength": 12, "example": "5600"})
class StrikeField(_ParsedStringField):
    """A positive decimal sent as a JSON string ("5600", "101.50"), returned exactly as sent."""

    parse = staticmethod(parse_strike)
    default_error_messages = {
        "invalid": 'Send a positive decimal as a string of ASCII digits, e.g. "5600" or "101.50" '
        "(no sign, exponent or spaces; at most 7 digits before the point and 4 after)."
    }


@extend_schema_field({"type": "string", "format": "date", "pattern": EXPIRY_PATTERN, "example": "2026-07-17"})
class ExpiryField(_ParsedStringField):
    """A calendar date "YYYY-MM-DD" from 2000-01-01 to 2099-12-31, returned exactly as sent."""

    parse = staticmethod(parse_expiry)
    default_error_messages = {
        "invalid": f"Send a real date as YYYY-MM-DD between {EXPIRY_MIN.isoformat()} and "
        f"{EXPIRY_MAX.isoformat()}."
    }


@extend_schema_field(
    {"type": "string", "pattern": SIGNED_MONEY_PATTERN, "maxLength": 16, "example": "-12.50"}
)
class SignedMoneyField(_ParsedStringField):
    """A signed amount as a JSON string ("12.50", "-3", "0"): at most 2 decimals, no exponent."""

    default_error_messages = {
        "invalid": 'Send an amount as a string of ASCII digits with an optional leading "-" and at '
        'most 2 decimals, e.g. "12.50" or "-3" (no "+", exponent or spaces).'
    }

    parse = staticmethod(parse_signed_money)

    def to_representation(self, value):
        return None if value is None else f"{value:.2f}"


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: no strings, floats or booleans, so legs round-trip exactly."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def json_type(value: object) -> str:
    """What a JSON value is, in words, for messages ("a string", not Python's "str")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


class LegListSerializer(serializers.ListSerializer):
    """A trade's legs; its own messages say what to send (DRF's speak of "elements")."""

    default_error_messages = {
        "not_a_list": "Send the legs as a list of leg objects, not {input_type}.",
        "empty": "Send at least one leg.",
        "min_length": "Send at least one leg.",
        "max_length": "Send at most {max_length} legs.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, list):
            message = self.error_messages["not_a_list"].format(input_type=json_type(data))
            raise serializers.ValidationError({"non_field_errors": [message]}, code="not_a_list")
        return super().to_internal_value(data)


@extend_schema_serializer(component_name="Leg")
class LegSerializer(serializers.Serializer):
    """SPEC W7 leg. Every key is required; right/strike/expiry are null exactly for equity legs.

    The schema states the two shapes as a union told apart by `instrument` (config.schema)."""

    FIELDS = ("action", "instrument", "right", "strike", "expiry", "quantity")
    default_error_messages = {
        "invalid": "Send each leg as an object with action, instrument, right, strike, expiry and "
        "quantity, not {datatype}.",
        "null": "Send each leg as an object, not null.",
    }

    class Meta:
        list_serializer_class = LegListSerializer

    action = serializers.ChoiceField(choices=["buy", "sell"])
    instrument = serializers.ChoiceField(choices=["option", "equity"])
    right = serializers.ChoiceField(choices=["call", "put"], allow_null=True)
    strike = StrikeField(allow_null=True)
    expiry = ExpiryField(allow_null=True)
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)

    def run_validation(self, data=serializers.empty):
        self.initial_data = data
        return super().run_validation(data)

    def to_internal_value(self, data):
        if data is not None and not isinstance(data, dict):
            message = self.error_messages["invalid"].format(datatype=json_type(data))
            raise serializers.ValidationError({"non_field_errors": [message]}, code="invalid")
        return super().to_internal_value(data)

    def validate(self, attrs):
        unknown = (
            sorted(set(self.initial_data) - set(self.FIELDS)) if isinstance(self.initial_data, dict) else []
        )
        errors = {key: ["Unknown field."] for key in unknown}
        option_fields = ("right", "strike", "expiry")
        if attrs["instrument"] == "option":
            errors.update({f: ["Required for an option leg."] for f in option_fields if attrs[f] is None})
        else:
            errors.update(
                {f: ["Must be null for an equity leg."] for f in option_fields if attrs[f] is not None}
            )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def legs_field(**kwargs) -> LegSerializer:
    """The `legs` field of a ticket: 1 to MAX_LEGS legs."""
    return LegSerializer(many=True, min_length=1, max_length=MAX_LEGS, **kwargs)


def flatten_leg_errors(detail: dict) -> dict:
    """DRF's positional `{"legs": [{}, {"strike": [...]}]}` → `{"legs[1].strike": [...]}`.

    Every value comes out a list of messages (the ValidationError schema): a leg that is not an
    object (`[null]`, `["leg"]`) is keyed `legs[i]`, a `legs` that is not a list `legs`."""
    flat: dict = {}
    for key, value in detail.items():
        if key != "legs":
            flat[key] = value
        elif isinstance(value, dict):  # `legs` was not a list: {"non_field_errors": [...]}
            flat["legs"] = [message for messages in value.values() for message in messages]
        elif isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
            for index, item in enumerate(value):
                if isinstance(item, list):
                    flat[f"legs[{index}]"] = item
                    continue
                for field, messages in (item or {}).items():
                    name = f"legs[{index}]" if field == "non_field_errors" else f"legs[{index}].{field}"
                    flat[name] = messages
        else:
            flat[key] = value
    return flat


class LegTicketMixin:
    """For a serializer with a `legs` field: leg errors come back flat (`legs[i].field`)."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            if isinstance(error.detail, dict):
                raise serializers.ValidationError(flatten_leg_errors(error.detail)) from None
            raise
