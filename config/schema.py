"""The OpenAPI schema is the behaviour (SPEC 0, F5), applied to every operation generically.

- Every operation documents the error statuses any /api/ request can meet (400, 401, 403, 404,
  409, 413, 429) with typed bodies, so a generated client has a type for each one. A view may
  still describe an error in its own words; the body type is always the shared component.
- An operation behind a flag that is OFF for this request's snapshot is left out (F5).
- Request components are named `XRequest`, never `XRequestRequest`.
- OpenAPI links lead from a created order to its close/cancel and to label creation, so a
  stateful client (schemathesis) reaches the label routes with real ids.
"""

from __future__ import annotations

from drf_spectacular import plumbing
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent

from flags.permissions import FlagRequired
from flags.store import is_enabled

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
    "description": "A single message that says what went wrong and what to do next.",
}
VALIDATION_ERROR = {
    "type": "object",
    "description": (
        "Field errors: each key is a field (leg fields as `legs[i].field`, whole-body problems "
        "under `non_field_errors` or `detail`), each value the messages for it."
    ),
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        ]
    },
}
CONFLICT = {
    "type": "object",
    "description": "The request clashes with the current state; `detail` says how to recover.",
    "properties": {
        "detail": {"type": "string"},
        "next_screen": {
            "anyOf": [{"type": "string"}, {"type": "integer"}],
            "description": "Walkthrough: the screen to go to instead.",
        },
        "builder_route": {"type": "string", "description": "Walkthrough: the builder served now."},
        "strategy_type": {"type": "string", "description": "Walkthrough: the strategy served now."},
    },
    "required": ["detail"],
}
COMPONENTS = {"Error": ERROR, "ValidationError": VALIDATION_ERROR, "Conflict": CONFLICT}

ERROR_RESPONSES = {
    "400": ("ValidationError", "Invalid input: field errors, or a rule that names what to change."),
    "401": ("Error", "No credentials, or not valid ones; the WWW-Authenticate header names the scheme."),
    "403": ("Error", "A session request without its CSRF token, or a user without access."),
    "404": ("Error", "Not found: missing, someone else's, or behind a flag that is off."),
    "409": ("Conflict", "Conflicts with the current state (duplicate, locked, closed, out of order)."),
    "413": ("Error", "The request body is larger than the API accepts."),
    "429": ("Error", "Too many requests; retry after the Retry-After header's seconds."),
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}


def build_mock_request(method, path, view, original_request, **kwargs):
    """drf-spectacular builds one mock request per operation; it carries the real request's
    flag snapshot, so the whole schema is judged against the flags of the request that asked."""
    request = plumbing.build_mock_request(method, path, view, original_request, **kwargs)
    flags = getattr(getattr(original_request, "_request", original_request), "flags", None)
    if flags is not None:
        request._request.flags = flags
    return request


class ApiAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        if self._flag_off():
            return None  # SPEC F5: an operation behind an OFF flag is not in this request's schema
        return super().get_operation(path, path_regex, path_prefix, method, registry)

    def _flag_off(self) -> bool:
        gates = [p for p in getattr(self.view, "permission_classes", []) if issubclass(p, FlagRequired)]
        return any(self._is_off(gate.flag_name) for gate in gates)

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        # A field behind a flag that is OFF for this request is not described at all (SPEC F5).
        # Serializers declare them as `schema_flagged_fields = {field: flag}`.
        result = super()._map_serializer(serializer, direction, bypass_extensions)
        flagged = getattr(serializer, "schema_flagged_fields", {})
        hidden = [field for field, flag in flagged.items() if self._is_off(flag)]
        for field in hidden:
            result.get("properties", {}).pop(field, None)
            if field in result.get("required", []):
                result["required"].remove(field)
        return result

    def _is_off(self, flag: str) -> bool:
        request = getattr(self.view, "request", None)
        # `manage.py spectacular` and the system check use a mock request that no middleware
        # saw, so it has no flag snapshot: they get the full schema.
        if request is None or not hasattr(getattr(request, "_request", request), "flags"):
            return False
        return not is_enabled(flag, request=request)

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        if name.endswith("RequestRequest"):
            name = name[: -len("Request")]
        return name

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, (component, description) in ERROR_RESPONSES.items():
            ref = self._error_component(component)
            own = responses.get(code, {})
            responses[code] = {
                "content": {"application/json": {"schema": ref}},
                "description": own.get("description") or description,
            }
            if code == "429":
                responses[code]["headers"] = RETRY_AFTER
        return responses

    def _error_component(self, name: str) -> dict:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=COMPONENTS[name]
        )
        self.registry.register_on_missing(component)
        return component.ref


# --- links (postprocessing hook) ---------------------------------------------------------------

ORDER_LINKS = {
    "CloseOrder": {"operationId": "paper_orders_close_create", "parameters": {"id": "$response.body#/id"}},
    "CancelOrder": {"operationId": "paper_orders_cancel_create", "parameters": {"id": "$response.body#/id"}},
    "GetOrder": {"operationId": "paper_orders_retrieve", "parameters": {"id": "$response.body#/id"}},
    "LabelOrder": {
        "operationId": "sentiment_labels_create",
        "requestBody": {"trade_id": "$response.body#/id"},
    },
}
LABEL_LINKS = {
    "GetLabel": {"operationId": "sentiment_labels_retrieve", "parameters": {"id": "$response.body#/id"}},
    "UpdateLabel": {
        "operationId": "sentiment_labels_partial_update",
        "parameters": {"id": "$response.body#/id"},
    },
    "DeleteLabel": {"operationId": "sentiment_labels_destroy", "parameters": {"id": "$response.body#/id"}},
}


def _first_result(links: dict) -> dict:
    """The same links from a page of results: they follow its first (newest) row."""
    out = {}
    for name, link in links.items():
        out[f"{name}FromList"] = {
            key: (
                {k: v.replace("$response.body#/", "$response.body#/results/0/") for k, v in value.items()}
                if isinstance(value, dict)
                else value
            )
            for key, value in link.items()
        }
    return out


# (operationId of the source, its success status, links)
LINK_SOURCES = [
    ("paper_orders_create", "201", ORDER_LINKS),
    ("paper_orders_retrieve", "200", ORDER_LINKS),
    ("paper_orders_list", "200", _first_result(ORDER_LINKS)),
    ("sentiment_labels_create", "201", LABEL_LINKS),
    ("sentiment_labels_list", "200", _first_result(LABEL_LINKS)),
]


def tighten(result, generator, request, public):
    """Say in the schema what the server enforces, so schema-valid means accepted:

    - a `legs` array holds 1 to MAX_LEGS legs (DRF's ListSerializer bounds are not emitted);
    - a string query parameter is never empty (`?symbol=` is a 400, not "no filter").

    Label codes stay plain strings: they are taxonomy data that operators extend, and an enum
    frozen into a generated client would go stale with the next taxonomy version.
    """
    from trading.legs import MAX_LEGS

    _leg_union(result)
    for name, component in result.get("components", {}).get("schemas", {}).items():
        legs = component.get("properties", {}).get("legs")
        if isinstance(legs, dict) and legs.get("type") == "array":
            legs.update(minItems=1, maxItems=MAX_LEGS)
        if name.endswith("Request"):
            _no_nul(component)
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                schema = parameter.get("schema", {})
                if parameter.get("in") != "query":
                    continue
                if schema.get("type") == "string" and "enum" not in schema:
                    schema.setdefault("minLength", 1)
                    _no_nul(schema)
    return result


LEG_REF = "#/components/schemas/Leg"
# Only null: nullable, and never a string. Written this way and not as `enum: [null]` because
# openapi-fetch's request and response helpers drop a property whose TypeScript type is exactly
# `null` (a generated client could then never send one); this one reads `string | null` there.
NULL_ONLY = {
    "type": "string",
    "nullable": True,
    "not": {"type": "string"},
    "description": "Always null on an equity leg.",
}


def _leg_union(result: dict) -> None:
    """The W7 leg as the two shapes the server accepts (SPEC W7): an option leg
    (right, strike and expiry required, not null) or an equity leg (the three null), told apart
    by `instrument`; no other key. One `Leg` component serves requests and responses."""
    schemas = result.get("components", {}).get("schemas", {})
    plain = schemas.get("Leg") or schemas.get("LegRequest")
    if plain is None:
        return
    fields = plain["properties"]

    def shape(instrument: str, description: str, **overrides) -> dict:
        properties = {name: dict(schema) for name, schema in fields.items()}
        properties["instrument"] = {"type": "string", "enum": [instrument]}
        properties.update(overrides)
        return {
            "type": "object",
            "description": description,
            "properties": properties,
            "required": list(fields),
            "additionalProperties": False,
        }

    option = {
        name: {k: v for k, v in fields[name].items() if k != "nullable"} for name in ("strike", "expiry")
    }
    schemas["OptionLeg"] = shape(
        "option",
        "An option leg: right, strike and expiry are required.",
        right={"$ref": "#/components/schemas/RightEnum"},
        **option,
    )
    schemas["EquityLeg"] = shape(
        "equity",
        "A share leg: right, strike and expiry are null; quantity counts shares.",
        right=NULL_ONLY,
        strike=NULL_ONLY,
        expiry=NULL_ONLY,
    )
    schemas["Leg"] = {
        "description": plain.get("description", ""),
        "oneOf": [{"$ref": "#/components/schemas/OptionLeg"}, {"$ref": "#/components/schemas/EquityLeg"}],
        "discriminator": {
            "propertyName": "instrument",
            "mapping": {
                "option": "#/components/schemas/OptionLeg",
                "equity": "#/components/schemas/EquityLeg",
            },
        },
    }
    schemas.pop("LegRequest", None)
    schemas.pop("InstrumentEnum", None)
    _replace_refs(result, "#/components/schemas/LegRequest", LEG_REF)


def _replace_refs(node, old: str, new: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and value == old:
                node[key] = new
            else:
                _replace_refs(value, old, new)
    elif isinstance(node, list):
        for item in node:
            _replace_refs(item, old, new)


# DRF's CharField refuses NUL characters (PostgreSQL text cannot hold them): a 400 the
# schema states for every free-text request string.
NO_NUL = "^[^\\u0000]*$"


def _no_nul(schema: dict) -> None:
    if schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(schema):
        schema["pattern"] = NO_NUL
    for key in ("properties",):
        for child in schema.get(key, {}).values():
            if isinstance(child, dict):
                _no_nul(child)
    for key in ("additionalProperties", "items"):
        if isinstance(schema.get(key), dict):
            _no_nul(schema[key])


def add_links(result, generator, request, public):
    """Attach OpenAPI links, keeping only those whose target operation is in this schema."""
    operations = {
        operation.get("operationId"): operation
        for path_item in result.get("paths", {}).values()
        for operation in path_item.values()
        if isinstance(operation, dict)
    }
    for source, status, links in LINK_SOURCES:
        operation = operations.get(source)
        if operation is None or status not in operation.get("responses", {}):
            continue
        present = {name: link for name, link in links.items() if link["operationId"] in operations}
        if present:
            operation["responses"][status]["links"] = present
    return result
