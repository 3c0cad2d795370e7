"""schemathesis, driven by the OpenAPI description: generated requests (valid and not) must
never get a 500, and every answer must match the description (status, content type, body)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import PDF
from tracker.extensions import db
from tracker.org.tokens import create_token

# schemathesis's WSGI transport does not close streamed file responses (GET /evidence/…); the
# resulting ResourceWarning is the tool's, not the application's.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def api_setup(app, org, make):
    """Items in every status, evidence and a token that sees everything."""
    for status in ("open", "in_progress", "pending_review", "closed"):
        item = make.item(org.county_a, org.off_a, status=status, supervisor=org.sup_a)
    make.evidence(make.item(org.county_a, org.off_a), org.off_a, data=PDF)
    _, secret = create_token(org.city_sup, name="schemathesis", now=make.now)
    db.session.commit()
    return {"schema": schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app), "token": secret, "item": item}


OPERATIONS = sorted(
    f"{method.upper()} {path}" for path, ops in __import__("tracker.api.openapi", fromlist=["PATHS"]).PATHS.items()
    for method in ops
)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_api_matches_its_description(api_setup, operation):
    # schemathesis's own pytest plugin does not run under pytest 9 yet; its strategies are used directly.
    method, path = operation.split(" ", 1)
    target = api_setup["schema"][path][method]
    headers = {"Authorization": f"Bearer {api_setup['token']}"}

    @given(case=target.as_strategy())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(
            headers=headers,
            checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                    response_schema_conformance],
        )

    check()
