"""Migration 0024: every indexed product gets its facets (price band, category), and its texts
the singular of an irregular plural, so that searches find them at once after the upgrade."""

from __future__ import annotations

from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.conftest import _base_config
from tests.factories import ProductFactory


def test_upgrading_indexes_facets_and_irregular_plurals(tmp_path: Path):
    # A database of its own (SQLite, whichever engine the suite runs on), to go down and up.
    url = f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
    app = create_app(_base_config(url, tmp_path))
    with app.app_context():
        upgrade()
        knives = ProductFactory(title="Carbon steel knives", price_minor=3000).id
        ProductFactory(title="Cheese knife", price_minor=1500, category="home/kitchen")
        draft = ProductFactory(title="Bread knife", status="draft").id
        db.session.remove()
        downgrade(revision="0023_returns")
        old = db.session.execute(text("SELECT * FROM product_search")).mappings().all()
        db.session.remove()
        upgrade()
        rows = dict(db.session.execute(text("SELECT rowid, facets FROM product_search")).all())
        client = app.test_client()
        found = client.get("/api/v1/search?q=knife&min_price=3000&max_price=3000").get_json()
        in_kitchen = client.get("/api/v1/search?q=knives&category=home/kitchen").get_json()
        db.session.remove()
        db.engine.dispose()
    assert len(old) == 2 and "facets" not in old[0]
    assert draft not in rows and len(rows) == 2
    assert rows[knives].split() == ["_b3000", "_d1000", "_chome", "_chome_ceramics"]
    assert [item["id"] for item in found["items"]] == [knives]
    assert [item["title"] for item in in_kitchen["items"]] == ["Cheese knife"]
