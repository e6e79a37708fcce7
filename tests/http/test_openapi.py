"""The OpenAPI document: generated from the routes, committed, served, and fuzzed.

Schemathesis generates requests from the served document (property-based, through
Hypothesis) and sends them to a real server with a valid key: no answer may be a 5xx,
use a status the document does not list for its route, or break the declared schema.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, assume, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from recallr_server.http import openapi
from tests.conftest import Tenant

# FastAPI writes OpenAPI 3.1, which schemathesis 3 reads as 3.0 when told to.
schema = schemathesis.from_dict(openapi.document(), force_schema_version="30")


def test_the_committed_document_is_the_generated_one() -> None:
    assert json.loads(openapi.DOCUMENT.read_text(encoding="utf-8")) == openapi.document()


def test_the_server_serves_the_committed_document(tenant: Tenant) -> None:
    served = httpx.get(f"{tenant.server.base_url}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(openapi.DOCUMENT.read_text(encoding="utf-8"))


@pytest.fixture
def fuzzed_tenant(tenant: Tenant) -> Tenant:
    """A tenant with a user "ada" and a session, so generated calls reach real rows too."""
    headers = _auth(tenant)
    base = tenant.server.base_url
    httpx.post(f"{base}/api/v1/users", json={"custom_user_id": "ada"}, headers=headers)
    return tenant


def _auth(tenant: Tenant) -> dict[str, str]:
    return {"X-Recallr-Api-Key": tenant.api_key, "X-Recallr-Project-Id": tenant.project_id}


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_get_documented_answers(
    case: schemathesis.Case, fuzzed_tenant: Tenant
) -> None:
    # An id with a slash (or a dot segment a client removes) reaches another path, where
    # the answer is the SDK's plain-text "404 page not found": no route of the document.
    ids = [str(value) for value in (case.path_parameters or {}).values()]
    assume(not any("/" in i or i in {".", ".."} for i in ids))
    if case.path.endswith("/context") and isinstance(case.query, dict):
        # A stream is read to its end: keep it unary, as the document's JSON answer.
        case.query["stream"] = "false"
    headers: dict[str, Any] = {**dict(case.headers or {}), **_auth(fuzzed_tenant)}
    response = case.call(base_url=fuzzed_tenant.server.base_url, headers=headers, timeout=60)
    case.validate_response(
        response,
        checks=(
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ),
    )
