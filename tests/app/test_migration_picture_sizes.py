"""Migration 0018: pictures stored before it keep the thumbnails they have, by their width."""

from __future__ import annotations

import io
from pathlib import Path

from flask_migrate import downgrade, upgrade
from PIL import Image
from sqlalchemy import text

from app import create_app
from app.extensions import db
from marketplace import products
from tests.conftest import _base_config
from tests.factories import ProductFactory


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (120, 80, 40)).save(out, "PNG")
    return out.getvalue()


def test_upgrading_gives_older_pictures_their_widths(tmp_path: Path):
    # A database of its own (SQLite, whichever engine the suite runs on), to go down and up.
    url = f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
    app = create_app(_base_config(url, tmp_path))
    with app.app_context():
        upgrade()
        product = ProductFactory(title="Old mug")
        products.add_images(product.shop.owner, product, [products.ImageUpload(_png(1600, 800))])
        db.session.commit()
        image = product.images[0]
        large, thumb, product_id = image.large_key, image.thumb_key, product.id
        image_count = len(product.images)
        bare = ProductFactory(title="No picture yet")
        bare_id = bare.id
        db.session.remove()
        downgrade(revision="0017_charge_id_index")
        upgrade()
        sizes = db.session.execute(
            text("SELECT cover_sizes FROM products WHERE id = :id"), {"id": product_id}
        ).scalar_one()
        images_after = db.session.execute(
            text("SELECT count(*) FROM product_images WHERE product_id = :id"), {"id": product_id}
        ).scalar_one()
        none = db.session.execute(
            text("SELECT cover_sizes FROM products WHERE id = :id"), {"id": bare_id}
        ).scalar_one()
        db.session.remove()
        db.engine.dispose()
    import json

    assert json.loads(sizes) == {"1200": large, "400": thumb}
    assert json.loads(none) == {}
    assert images_after == image_count == 1  # going down and up lost no picture
