"""The OpenAPI schema documents every operation of the API: each response code with a real schema.

The permission matrix (test_permissions.py) checks the other half: every status code an API
route answers there is one the schema documents for that operation.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.test import Client

DOCUMENTED_ERRORS = {"400", "401", "403", "404", "409", "413", "415", "422", "429"}


@cache
def api_schema() -> dict[str, Any]:
    """The generated schema (as /api/schema/ serves it)."""
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in node and len(node["allOf"]) == 1:
        return resolve(schema, node["allOf"][0])
    return node


def describes_something(schema: dict[str, Any], node: dict[str, Any]) -> bool:
    """A schema naming what it holds: properties, typed items, or binary content; never a bare object."""
    node = resolve(schema, node)
    if node.get("type") == "array":
        return describes_something(schema, node.get("items", {}))
    if node.get("format") == "binary" or node.get("type") in {"string", "integer", "boolean", "number"}:
        return True
    return bool(node.get("properties"))


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in api_schema()["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def documented_codes(path: str, method: str) -> set[str]:
    """Status codes the schema documents for an operation (path in URL-conf form: `<int:x>` params)."""
    key = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
    return set(api_schema()["paths"][key][method]["responses"])


def test_every_response_of_every_operation_has_a_schema_that_is_not_a_bare_object() -> None:
    bare = []
    for method, path, operation in operations():
        for code, response in operation["responses"].items():
            if code == "204":
                assert not response.get("content"), f"{method} {path} 204 has a body"
                continue
            content = response.get("content") or {}
            if not content or not all(describes_something(api_schema(), c.get("schema", {})) for c in content.values()):
                bare.append(f"{method.upper()} {path} {code}")
    assert not bare, "responses without a real schema: " + ", ".join(bare)


def test_every_operation_documents_its_success_and_the_refusals_of_the_access_rules() -> None:
    for method, path, operation in operations():
        codes = set(operation["responses"])
        assert any(code.startswith("2") for code in codes), f"{method} {path}: no success response"
        assert "401" in codes, f"{method} {path}: anonymous callers get 401"
        assert codes - {"200", "201", "204"} <= DOCUMENTED_ERRORS, f"{method} {path}: {codes}"
        if "{" in path:
            assert "404" in codes, f"{method} {path}: an object that does not exist is 404"


def test_the_conflict_and_validation_bodies_are_described() -> None:
    save = api_schema()["paths"]["/api/projects/{project_id}/draft/save"]["post"]["responses"]
    conflict = resolve(api_schema(), save["409"]["content"]["application/json"]["schema"])

    assert set(conflict["properties"]) == {"detail", "conflict", "base", "latest"}
    assert conflict["required"] == ["detail"]  # "nothing to save" is a 409 with `detail` alone
    field_errors = save["400"]["content"]["application/json"]["schema"]["additionalProperties"]["anyOf"]
    assert {"type": "array", "items": {"type": "string"}} in field_errors


def test_the_schema_generates_without_a_warning_and_validates(tmp_path: Path) -> None:
    # What `manage.py spectacular --validate --fail-on-warn` checks: an enum name collision or an
    # unresolvable field is a warning that would otherwise pass unnoticed.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
