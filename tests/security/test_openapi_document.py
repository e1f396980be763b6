"""The OpenAPI document itself: valid OpenAPI, every number a request may carry bounded by what
the database holds, and every operation illustrated by an example.

Walks the whole document, so an operation added later (by any package) is held to the same.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker
from openapi_spec_validator import validate

from app import create_app
from app.api import INT_MIN
from app.models import INT_MAX
from tests.conftest import _base_config

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as root:
        app = create_app(_base_config("sqlite://", Path(root)))
        response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def _resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _integers(
    document: dict[str, Any], schema: Any, where: str, seen: set[int]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every integer schema reachable from `schema` that a request may carry (not what only
    answers carry: read-only), with where it is."""
    if isinstance(schema, dict) and schema.get("readOnly"):
        return
    schema = _resolve(document, schema)
    if not isinstance(schema, dict) or id(schema) in seen:
        return
    seen.add(id(schema))
    if schema.get("type") == "integer":
        yield where, schema
    for name, inner in (schema.get("properties") or {}).items():
        yield from _integers(document, inner, f"{where}.{name}", seen)
    if "items" in schema:
        yield from _integers(document, schema["items"], f"{where}[]", seen)
    for key in ("allOf", "anyOf", "oneOf"):
        for inner in schema.get(key) or []:
            yield from _integers(document, inner, where, seen)


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_every_integer_a_request_carries_fits_the_database(document: dict[str, Any]) -> None:
    """A number beyond an INTEGER column is the field's 422, never a database error: each
    integer parameter and body field states bounds within the column's."""
    unbounded = []
    for label, operation in _operations(document):
        found: list[tuple[str, dict[str, Any]]] = []
        for parameter in operation.get("parameters") or []:
            parameter = _resolve(document, parameter)
            found += _integers(document, parameter.get("schema"), parameter["name"], set())
        body = _resolve(document, operation.get("requestBody")) or {}
        for media in (body.get("content") or {}).values():
            found += _integers(document, media.get("schema"), "body", set())
        for where, schema in found:
            if schema.get("readOnly"):
                continue
            low, high = schema.get("minimum"), schema.get("maximum")
            if low is None or high is None or low < INT_MIN or high > INT_MAX:
                unbounded.append(f"{label}: {where} [{low}, {high}]")
    assert unbounded == [], "\n".join(unbounded)


# A property no example is written for because the docs page shows something better: a file
# picker for a file to upload.
FILE = {"type": "string", "format": "binary"}


@dataclass
class Illustration:
    """The example a docs page shows for a body: its own, or one put together from the examples
    of its properties (as Swagger UI does), with the properties that have none (which the page
    would show as a bare type: "string", 0)."""

    value: Any = None
    missing: list[str] = field(default_factory=list)
    # A file (or files) to upload: no example, the page offers to pick one; left out of the
    # example of the form it is in.
    file: bool = False


def _illustrate(
    document: dict[str, Any], node: Any, where: str, skip: str, refs: tuple[str, ...] = ()
) -> Illustration:
    """The example for `node`; `skip` is readOnly for a request (what only answers carry),
    writeOnly for an answer."""
    for candidate in (node, _resolve(document, node)):
        if isinstance(candidate, dict) and "example" in candidate:
            return Illustration(candidate["example"])
    if isinstance(node, dict) and "$ref" in node:
        if node["$ref"] in refs:  # a schema that holds itself needs an example of its own
            return Illustration(missing=[f"{where} (recursive)"])
        refs = (*refs, node["$ref"])
    schema = _resolve(document, node)
    if not isinstance(schema, dict):
        return Illustration(missing=[where])
    if {key: schema.get(key) for key in FILE} == FILE:
        return Illustration(file=True)
    if "enum" in schema:
        return Illustration(schema["enum"][0])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            # allOf is one schema here (a reference with its own description); anyOf and oneOf
            # are nullable objects (`null` or the object): the first alternative illustrated.
            parts = [_illustrate(document, inner, where, skip, refs) for inner in schema[key]]
            whole = [part for part in parts if not part.missing]
            return whole[0] if whole else parts[-1]
    if "properties" in schema:
        value, missing = {}, []
        for name, inner in schema["properties"].items():
            if isinstance(inner, dict) and inner.get(skip):
                continue
            part = _illustrate(document, inner, f"{where}.{name}", skip, refs)
            if not part.file:
                value[name] = part.value
            missing += part.missing
        return Illustration(value, missing)
    if schema.get("type") == "array" and "items" in schema:
        part = _illustrate(document, schema["items"], f"{where}[]", skip, refs)
        return Illustration([part.value], part.missing, part.file)
    return Illustration(missing=[where])


def _bodies(
    document: dict[str, Any],
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Each request body and success answer's body (label, media type object, and what its
    example may not show: readOnly in a request, writeOnly in an answer)."""
    for label, operation in _operations(document):
        body = _resolve(document, operation.get("requestBody")) or {}
        for content_type, media in (body.get("content") or {}).items():
            yield f"{label}: request {content_type}", media, "readOnly"
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            for content_type, media in (_resolve(document, response).get("content") or {}).items():
                yield f"{label}: {status} {content_type}", media, "writeOnly"


def _body_example(document: dict[str, Any], media: dict[str, Any], skip: str) -> Illustration:
    if "example" in media:
        return Illustration(media["example"])
    if "examples" in media:
        return Illustration(next(iter(media["examples"].values()))["value"])
    return _illustrate(document, media.get("schema"), "body", skip)


def test_every_operation_has_examples(document: dict[str, Any]) -> None:
    """Each operation shows a request body (when it takes one) and its success answer (when it
    has a body) by a complete example, for the docs page and for the examples phase of
    schemathesis: the body's own, or every property's (an object's properties, an array's
    items, down to each value; not a bare "string" or 0 for any field). A property's example is
    its own, or its schema's, or the first of its values when it has a list of them (enum); a
    file to upload needs none."""
    missing = []
    for label, media, skip in _bodies(document):
        missing += [f"{label}: {where}" for where in _body_example(document, media, skip).missing]
    assert missing == [], f"{len(missing)} without an example:\n" + "\n".join(missing)


def _validator(document: dict[str, Any], schema: Any, skip: str) -> Any:
    """A validator of `schema` (OpenAPI 3.0's dialect: nullable, readOnly in a request,
    writeOnly in an answer, formats such as date-time), its references within the document."""
    kind = OAS30WriteValidator if skip == "readOnly" else OAS30ReadValidator
    root = {"allOf": [schema], "components": document["components"]}
    return kind(root, format_checker=oas30_format_checker)


def _examples_in(node: Any, where: str) -> Iterator[tuple[str, Any, Any]]:
    """Every example a schema carries anywhere within it (with the schema it illustrates)."""
    if isinstance(node, dict):
        if "example" in node:
            yield where, node, node["example"]
        for key, inner in node.items():
            if key != "example":
                yield from _examples_in(inner, f"{where}.{key}")
    elif isinstance(node, list):
        for index, inner in enumerate(node):
            yield from _examples_in(inner, f"{where}[{index}]")


def test_every_example_validates_against_its_schema(document: dict[str, Any]) -> None:
    """An example that its own schema refuses misleads the docs' reader, and fails the examples
    phase of schemathesis: each example (a field's, a schema's, a body's) is valid for what it
    illustrates, and so is each body's example as a whole, put together from its properties'."""
    invalid = []
    found = 0
    for where, schema, example in _examples_in(document["components"], "components"):
        found += 1
        bare = {key: value for key, value in schema.items() if key not in ("readOnly", "writeOnly")}
        for error in _validator(document, bare, "writeOnly").iter_errors(example):
            invalid.append(f"{where}: {error.message}")
    for label, operation in _operations(document):
        for parameter in operation.get("parameters") or []:
            parameter = _resolve(document, parameter)
            for where, schema, example in _examples_in(parameter, f"{label}: {parameter['name']}"):
                found += 1
                for error in _validator(document, schema, "writeOnly").iter_errors(example):
                    invalid.append(f"{where}: {error.message}")
    for label, media, skip in _bodies(document):
        examples = [_body_example(document, media, skip)]
        examples += [
            Illustration(named["value"]) for named in (media.get("examples") or {}).values()
        ]
        validator = _validator(document, media.get("schema", {}), skip)
        for example in examples:
            if example.missing:
                continue  # test_every_operation_has_examples names what it lacks
            found += 1
            for error in validator.iter_errors(example.value):
                path = "".join(f"[{part!r}]" for part in error.absolute_path)
                invalid.append(f"{label}: body{path}: {error.message}")
    assert found > 0
    assert invalid == [], "\n".join(invalid)


def test_every_operation_declares_its_errors_as_problem_json(document: dict[str, Any]) -> None:
    """No catch-all `default`: each operation lists the statuses it answers, and each error is
    application/problem+json."""
    wrong = []
    for label, operation in _operations(document):
        responses = operation["responses"]
        if "default" in responses:
            wrong.append(f"{label}: default")
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                content = _resolve(document, response).get("content") or {}
                if list(content) != ["application/problem+json"]:
                    wrong.append(f"{label}: {status} {list(content)}")
    assert wrong == [], "\n".join(wrong)
