from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import ApiToken
from app.extensions import db
from tests.conftest import login
from tests.factories import UserFactory


def make_token(client, user, name="script"):
    login(client, user)
    response = client.api("POST", "/api/v1/tokens", json={"name": name})
    assert response.status_code == 201, response.get_json()
    client.post_form("/logout")
    return response.get_json()


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def test_token_authenticates_api_calls_and_is_stored_hashed(app, client):
    user = UserFactory(handle="ana")
    created = make_token(client, user)
    secret = created["token"]
    assert secret.startswith("kdr_")
    stored = db.session.scalar(select(ApiToken))
    assert stored.token_hash != secret and secret not in stored.token_hash
    assert stored.prefix == secret[:10]
    fresh = app.test_client()
    me = fresh.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    assert me.get_json()["handle"] == "ana"
    # A token request needs no CSRF token and sets no session cookie.
    patched = fresh.patch("/api/v1/me", json={"bio": "Hello"}, headers=bearer(secret))
    assert patched.status_code == 200 and patched.get_json()["bio"] == "Hello"
    assert "session=" not in patched.headers.get("Set-Cookie", "")


def test_revoked_token_is_refused(app, client):
    user = UserFactory()
    created = make_token(client, user)
    fresh = app.test_client()
    assert (
        fresh.delete(
            f"/api/v1/tokens/{created['id']}", headers=bearer(created["token"])
        ).status_code
        == 204
    )
    response = fresh.get("/api/v1/me", headers=bearer(created["token"]))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_401_not_anonymous(client):
    response = client.get("/api/v1/users/nobody", headers=bearer("kdr_not-a-real-token"))
    assert response.status_code == 401


def test_session_auth_works_and_needs_csrf_for_writes(client):
    user = UserFactory()
    login(client, user)
    assert client.get("/api/v1/me").status_code == 200
    refused = client.patch("/api/v1/me", json={"bio": "x"})
    assert refused.status_code == 400
    assert refused.mimetype == "application/problem+json"
    assert client.api("PATCH", "/api/v1/me", json={"bio": "x"}).status_code == 200


def test_anonymous_gets_problem_json_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    body = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert body["status"] == 401 and body["title"]


def test_an_anonymous_change_is_asked_to_authenticate_not_for_a_csrf_token(client):
    """A script that forgot its token is told to authenticate (401), not that a CSRF token is
    missing (every operation that changes something needs a person); a logged-in session
    still needs the CSRF token (test above)."""
    for method, url in [
        ("PATCH", "/api/v1/me"),
        ("POST", "/api/v1/shops"),
        ("POST", "/api/v1/cart/lines"),
    ]:
        response = client.open(url, method=method, json={})
        assert response.status_code == 401, (method, url, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_wrong_shape_gets_field_errors(client):
    user = UserFactory()
    login(client, user)
    response = client.api("PATCH", "/api/v1/me", json={"bio": 42, "locale": "xx", "extra": 1})
    assert response.status_code == 422
    body = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert set(body["errors"]) >= {"bio", "locale", "extra"}
    response = client.api(
        "POST", "/api/v1/tokens", data="not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"
    assert db.session.scalar(select(db.func.count(ApiToken.id))) == 0


def test_rule_violation_in_api_is_problem_json(client):
    user = UserFactory()
    login(client, user)
    response = client.api("PATCH", "/api/v1/me", json={"bio": "x" * 501})
    assert response.status_code == 422
    assert "bio" in response.get_json()["errors"]


def test_cannot_revoke_someone_elses_token(app, client):
    owner = UserFactory()
    created = make_token(client, owner)
    intruder = UserFactory()
    other = make_token(app.test_client(), intruder)
    response = app.test_client().delete(
        f"/api/v1/tokens/{created['id']}", headers=bearer(other["token"])
    )
    assert response.status_code == 404
    assert db.session.get(ApiToken, created["id"]).revoked_at is None


def test_public_profile_api_hides_private_fields(client):
    UserFactory(handle="ana", bio="Ceramics")
    body = client.get("/api/v1/users/ANA").get_json()
    assert body["handle"] == "ana" and body["bio"] == "Ceramics"
    assert "email" not in body
    assert client.get("/api/v1/users/nobody").status_code == 404


def test_openapi_document_and_docs_page(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/me" in spec["paths"] and "/api/v1/tokens" in spec["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"swagger-ui-bundle.js" in docs.data
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_token_pages_create_show_once_and_revoke(client):
    user = UserFactory()
    login(client, user)
    page = client.post_form("/account/tokens", {"name": "stock sync"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Copy it now" in html and "kdr_" in html
    token = db.session.scalar(select(ApiToken))
    again = client.get("/account/tokens").get_data(as_text=True)
    assert "Copy it now" not in again and token.prefix in again
    assert client.post_form(f"/account/tokens/{token.id}/revoke").status_code == 302
    db.session.refresh(token)
    assert token.revoked_at is not None


def test_token_name_required(client):
    login(client, UserFactory())
    response = client.post_form("/account/tokens", {"name": ""})
    assert response.status_code == 422
    assert db.session.scalar(select(db.func.count(ApiToken.id))) == 0
