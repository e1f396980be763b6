"""products, product_images: every thumbnail by its width, for srcset

Revision ID: 0018_picture_sizes
Revises: 0017_charge_id_index
Create Date: 2026-12-07 21:50:00.000000

A card picked its picture from one 400-pixel thumbnail whatever the screen: a phone at 3x
blurred it, a list of small ones downloaded too much. Product images now keep each of their
thumbnails by its real width (200, 400, 800, 1200), and a product its cover's, so a card
offers the browser a srcset. Pictures stored before keep the two thumbnails they have.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018_picture_sizes"
down_revision = "0017_charge_id_index"
branch_labels = None
depends_on = None


def _width(width: int, height: int, box: int) -> int:
    return max(1, round(width * min(1.0, box / max(width, height, 1))))


def upgrade():
    # Added in place, never by copying the table: on SQLite, copying products (batch mode)
    # drops the old table, and its ON DELETE CASCADE would empty product_images.
    empty = sa.text("'{}'")
    op.add_column(
        "product_images", sa.Column("sizes", sa.JSON(), nullable=False, server_default=empty)
    )
    op.add_column(
        "products", sa.Column("cover_sizes", sa.JSON(), nullable=False, server_default=empty)
    )

    bind = op.get_bind()
    images = sa.table(
        "product_images",
        sa.column("id", sa.Integer),
        sa.column("product_id", sa.Integer),
        sa.column("position", sa.Integer),
        sa.column("large_key", sa.String),
        sa.column("thumb_key", sa.String),
        sa.column("width", sa.Integer),
        sa.column("height", sa.Integer),
        sa.column("sizes", sa.JSON),
    )
    products = sa.table(
        "products",
        sa.column("id", sa.Integer),
        sa.column("cover_sizes", sa.JSON),
    )
    covers: dict[int, dict[str, str]] = {}
    rows = bind.execute(
        sa.select(
            images.c.id,
            images.c.product_id,
            images.c.large_key,
            images.c.thumb_key,
            images.c.width,
            images.c.height,
        ).order_by(images.c.product_id, images.c.position, images.c.id)
    ).all()
    for row in rows:
        sizes = {
            str(_width(row.width, row.height, 1200)): row.large_key,
            str(_width(row.width, row.height, 400)): row.thumb_key,
        }
        bind.execute(images.update().where(images.c.id == row.id).values(sizes=sizes))
        covers.setdefault(row.product_id, sizes)
    for product_id, sizes in covers.items():
        bind.execute(products.update().where(products.c.id == product_id).values(cover_sizes=sizes))


def downgrade():
    op.drop_column("products", "cover_sizes")
    op.drop_column("product_images", "sizes")
