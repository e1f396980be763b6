"""/api/v1: shops, products, variants, images, search and categories."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from sqlalchemy import select

from app import api, media
from app.accounts.services import current_person
from app.rules import NotFound, RuleViolation
from app.web import viewer
from marketplace import browse, categories, products, shops
from marketplace.models import Product, ProductImage, ProductVariant, Shop, ShopStatus
from marketplace.pagination import Page, paginate_select
from marketplace.schemas import (
    CategorySchema,
    DeleteOutcomeSchema,
    ImageFilesSchema,
    ImageOrderSchema,
    ImageSchema,
    ImageUploadFormSchema,
    ImageUploadSchema,
    PageArgsSchema,
    ProductListArgsSchema,
    ProductPageSchema,
    ProductSchema,
    ProductUpdateSchema,
    SearchArgsSchema,
    SearchPageSchema,
    ShopPageSchema,
    ShopSchema,
    ShopUpdateSchema,
    VariantSchema,
    VariantUpdateSchema,
)

blueprint = Blueprint(
    "catalogue_api", __name__, description="Shops, products, variants, images and search"
)


# --- representations -------------------------------------------------------------------------


def shop_view(shop: Shop) -> dict[str, Any]:
    return {
        "id": shop.id,
        "slug": shop.slug,
        "name": shop.name,
        "description": shop.description,
        "description_html": shop.description_html,
        "return_policy": shop.return_policy,
        "return_policy_html": shop.return_policy_html,
        "shipping_flat_minor": shop.shipping_flat_minor,
        "free_shipping_over_minor": shop.free_shipping_over_minor,
        "processing_days": shop.processing_days,
        "return_window_days": shop.return_window_days,
        "curator_commission_bps": shop.curator_commission_bps,
        "status": shop.status,
        "owner_handle": shop.owner.handle,
        "logo_url": media.media_url(shop.logo_key),
        "banner_url": media.media_url(shop.banner_key),
        "url": url_for("catalogue.shop", slug=shop.slug, _external=True),
        "currency": current_app.config["CURRENCY"],
        "created_at": shop.created_at,
    }


def image_view(image: ProductImage) -> dict[str, Any]:
    return {
        "id": image.id,
        "position": image.position,
        "alt_text": image.alt_text,
        "url": media.media_url(image.image_key),
        "large_url": media.media_url(image.large_key),
        "thumb_url": media.media_url(image.thumb_key),
        "width": image.width,
        "height": image.height,
    }


def product_summary(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "title": product.title,
        "slug": product.slug,
        "category": product.category,
        "condition": product.condition,
        "status": product.status,
        "price_minor": product.price_minor,
        "currency": current_app.config["CURRENCY"],
        "stock_total": product.stock_total,
        "in_stock": product.in_stock,
        "cover_url": media.media_url(product.cover_key),
        "popularity": product.popularity,
        "shop": {"id": product.shop.id, "slug": product.shop.slug, "name": product.shop.name},
        "url": url_for(
            "catalogue.product", product_id=product.id, slug=product.slug, _external=True
        ),
        "published_at": product.published_at,
    }


def product_view(product: Product) -> dict[str, Any]:
    return {
        **product_summary(product),
        "description": product.description,
        "description_html": product.description_html,
        "tags": product.tag_list,
        "option1_name": product.option1_name,
        "option2_name": product.option2_name,
        "variants": product.variants,
        "images": [image_view(image) for image in product.images],
    }


def product_page(page: Page[Product]) -> dict[str, Any]:
    return page.to_dict([product_summary(p) for p in page.items])


def _owned_product(product_id: int) -> Product:
    return products.product_for_owner(current_person(), product_id)


# --- shops ---------------------------------------------------------------------------------


def _shop_details(data: dict[str, Any], shop: Shop | None) -> shops.ShopDetails:
    def pick(name: str, default: Any) -> Any:
        if name in data:
            return data[name]
        return getattr(shop, name) if shop is not None else default

    return shops.ShopDetails(
        name=pick("name", ""),
        slug=pick("slug", ""),
        description=pick("description", ""),
        return_policy=pick("return_policy", ""),
        shipping_flat_minor=pick("shipping_flat_minor", 0),
        free_shipping_over_minor=pick("free_shipping_over_minor", None),
        processing_days=pick("processing_days", 3),
        return_window_days=pick("return_window_days", 30),
        curator_commission_bps=pick("curator_commission_bps", None),
    )


@blueprint.route("/shops")
class Shops(MethodView):
    @blueprint.arguments(PageArgsSchema, location="query")
    @blueprint.response(200, ShopPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Open shops, newest first."""
        from sqlalchemy.orm import joinedload

        statement = (
            select(Shop)
            .where(Shop.status == ShopStatus.OPEN)
            .options(joinedload(Shop.owner))
            .order_by(Shop.created_at.desc(), Shop.id.desc())
        )
        page = paginate_select(statement, args["page"], args["per_page"])
        return page.to_dict([shop_view(s) for s in page.items])

    @api.login_required
    @blueprint.arguments(ShopSchema)
    @blueprint.response(201, ShopSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Open your shop (one per person)."""
        return shop_view(shops.open_shop(current_person(), _shop_details(data, None)))


@blueprint.route("/shops/<int:shop_id>")
class ShopItem(MethodView):
    @blueprint.response(200, ShopSchema)
    def get(self, shop_id: int) -> dict[str, Any]:
        """A shop. A paused shop is visible to its owner only."""
        shop = shops.shop_by_id(shop_id)
        return shop_view(shops.shop_by_slug(shop.slug, viewer()))

    @api.login_required
    @blueprint.arguments(ShopUpdateSchema)
    @blueprint.response(200, ShopSchema)
    def patch(self, data: dict[str, Any], shop_id: int) -> dict[str, Any]:
        """Change your shop; `status` pauses or reopens it."""
        user = current_person()
        shop = shops.shop_by_id(shop_id)
        shops.check_owner(user, shop)
        status = data.pop("status", None)
        if data:
            shops.update_shop(user, shop, _shop_details(data, shop))
        if status == ShopStatus.PAUSED:
            shops.pause_shop(user, shop)
        elif status == ShopStatus.OPEN:
            shops.reopen_shop(user, shop)
        return shop_view(shop)


@blueprint.route("/shops/<int:shop_id>/<any(logo, banner):kind>")
class ShopPicture(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ImageFilesSchema, location="files")
    @blueprint.response(200, ShopSchema)
    def put(self, _files: dict[str, Any], shop_id: int, kind: str) -> dict[str, Any]:
        """Upload the shop's logo or banner (multipart, field `image`)."""
        user = current_person()
        shop = shops.shop_by_id(shop_id)
        shops.check_owner(user, shop)
        upload = request.files.get("image") or request.files.get("images")
        if upload is None:
            raise RuleViolation(_("Choose an image to upload."), field="image")
        data = media.read_upload(upload.stream, field_name="image")
        images = shops.ShopImages(logo=data) if kind == "logo" else shops.ShopImages(banner=data)
        shops.update_shop(user, shop, _shop_details({}, shop), images)
        return shop_view(shop)

    @blueprint.response(200, ShopSchema)
    def delete(self, shop_id: int, kind: str) -> dict[str, Any]:
        """Remove the shop's logo or banner."""
        user = current_person()
        shop = shops.shop_by_id(shop_id)
        shops.check_owner(user, shop)
        images = shops.ShopImages(remove_logo=kind == "logo", remove_banner=kind == "banner")
        shops.update_shop(user, shop, _shop_details({}, shop), images)
        return shop_view(shop)


@blueprint.route("/shops/<int:shop_id>/products")
class ShopProducts(MethodView):
    @blueprint.arguments(PageArgsSchema, location="query")
    @blueprint.response(200, ProductPageSchema)
    def get(self, args: dict[str, Any], shop_id: int) -> dict[str, Any]:
        """A shop's products on sale, newest first."""
        shop = shops.shop_by_slug(shops.shop_by_id(shop_id).slug, viewer())
        return product_page(browse.of_shop(shop, args["page"], args["per_page"]))


@blueprint.route("/me/shop")
class MyShop(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, ShopSchema)
    def get(self) -> dict[str, Any]:
        """Your shop, open or paused."""
        return shop_view(shops.own_shop(current_person()))


@blueprint.route("/me/shop/products")
class MyProducts(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(PageArgsSchema, location="query")
    @blueprint.response(200, ProductPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """All your products, in every status, newest first."""
        shop = shops.own_shop(current_person())
        # Each product's shop is the one already in the session: no query per product.
        return product_page(browse.shop_dashboard(shop, args["page"], args["per_page"]))


# --- products ------------------------------------------------------------------------------


def _details(data: dict[str, Any], product: Product | None = None) -> products.ProductDetails:
    def pick(name: str, default: Any) -> Any:
        if name in data:
            return data[name]
        if product is None:
            return default
        return product.tag_list if name == "tags" else getattr(product, name)

    return products.ProductDetails(
        title=pick("title", ""),
        description=pick("description", ""),
        category=pick("category", ""),
        tags=pick("tags", []),
        condition=pick("condition", "new"),
        option1_name=pick("option1_name", ""),
        option2_name=pick("option2_name", ""),
    )


def _variant(data: dict[str, Any], current: ProductVariant | None = None) -> products.VariantInput:
    def pick(name: str, default: Any) -> Any:
        if name in data:
            return data[name]
        return getattr(current, name) if current is not None else default

    return products.VariantInput(
        price_minor=pick("price_minor", None),
        stock=pick("stock", 0),
        sku=pick("sku", ""),
        option1=pick("option1", ""),
        option2=pick("option2", ""),
    )


@blueprint.route("/products")
class Products(MethodView):
    @blueprint.arguments(ProductListArgsSchema, location="query")
    @blueprint.response(200, ProductPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Products on sale: newest or trending, optionally in one category."""
        if args.get("category"):
            page = browse.in_category(args["category"], args["page"], args["per_page"])
        elif args["sort"] == "trending":
            page = browse.trending(args["page"], args["per_page"])
        else:
            page = browse.newest(args["page"], args["per_page"])
        return product_page(page)

    @api.login_required
    @blueprint.arguments(ProductSchema)
    @blueprint.response(201, ProductSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """List a product in your shop, with its variants (one without options)."""
        user = current_person()
        product = products.create_product(
            user,
            shops.own_shop(user),
            _details(data),
            [_variant(v) for v in data["variants"]],
            status=data["status"],
        )
        return product_view(product)


@blueprint.route("/products/<int:product_id>")
class ProductItem(MethodView):
    @blueprint.response(200, ProductSchema)
    def get(self, product_id: int) -> dict[str, Any]:
        """A product with its variants and images."""
        return product_view(products.public_product(product_id, viewer()))

    @api.login_required
    @blueprint.arguments(ProductUpdateSchema)
    @blueprint.response(200, ProductSchema)
    def patch(self, data: dict[str, Any], product_id: int) -> dict[str, Any]:
        """Change a product of yours."""
        user = current_person()
        product = _owned_product(product_id)
        status = data.pop("status", None)
        if data:
            products.update_product(user, product, _details(data, product))
        if status is not None:
            products.set_status(user, product, status)
        return product_view(product)

    @api.login_required
    @blueprint.response(200, DeleteOutcomeSchema)
    def delete(self, product_id: int) -> dict[str, Any]:
        """Delete a product of yours; one with orders is archived instead."""
        product = _owned_product(product_id)
        return {"outcome": products.delete_product(current_person(), product)}


@blueprint.route("/products/<int:product_id>/variants")
class Variants(MethodView):
    @blueprint.response(200, VariantSchema(many=True))
    def get(self, product_id: int) -> list[ProductVariant]:
        """A product's variants."""
        return list(products.public_product(product_id, viewer()).variants)

    @api.login_required
    @blueprint.arguments(VariantSchema)
    @blueprint.response(201, VariantSchema)
    def post(self, data: dict[str, Any], product_id: int) -> ProductVariant:
        """Add a variant (the product needs an option name first)."""
        product = _owned_product(product_id)
        return products.add_variant(current_person(), product, _variant(data))


@blueprint.route("/products/<int:product_id>/variants/<int:variant_id>")
class VariantItem(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(VariantUpdateSchema)
    @blueprint.response(200, VariantSchema)
    def patch(self, data: dict[str, Any], product_id: int, variant_id: int) -> ProductVariant:
        """Change a variant's SKU, options, price or stock."""
        product = _owned_product(product_id)
        current = next((v for v in product.variants if v.id == variant_id), None)
        if current is None:
            raise NotFound(_("There is no such variant."))
        return products.update_variant(
            current_person(), product, variant_id, _variant(data, current)
        )

    @blueprint.response(204)
    def delete(self, product_id: int, variant_id: int) -> None:
        """Remove a variant (a product keeps at least one)."""
        products.remove_variant(current_person(), _owned_product(product_id), variant_id)


@blueprint.route("/products/<int:product_id>/images")
class Images(MethodView):
    @blueprint.response(200, ImageSchema(many=True))
    def get(self, product_id: int) -> list[dict[str, Any]]:
        """A product's images, cover first."""
        product = products.public_product(product_id, viewer())
        return [image_view(image) for image in product.images]

    @api.login_required
    @blueprint.arguments(ImageUploadFormSchema, location="form", content_type="multipart/form-data")
    @blueprint.response(201, ImageSchema(many=True))
    def post(self, form: dict[str, Any], product_id: int) -> list[dict[str, Any]]:
        """Upload images (multipart, one or more `images` files; 20 per product, 10 MB each).

        Each is checked by decoding it, re-encoded (EXIF stripped) and stored with thumbnails.
        """
        product = _owned_product(product_id)
        uploads = [
            products.ImageUpload(
                media.read_upload(f.stream, field_name="images"), form.get("alt_text", "")
            )
            for f in request.files.getlist("images")
            if f.filename
        ]
        added = products.add_images(current_person(), product, uploads)
        return [image_view(image) for image in added]


@blueprint.route("/products/<int:product_id>/images/order")
class ImageOrder(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ImageOrderSchema)
    @blueprint.response(200, ImageSchema(many=True))
    def put(self, data: dict[str, Any], product_id: int) -> list[dict[str, Any]]:
        """Reorder the images: list every image id once; the first is the cover."""
        product = _owned_product(product_id)
        products.reorder_images(current_person(), product, data["image_ids"])
        return [image_view(image) for image in product.images]


@blueprint.route("/products/<int:product_id>/images/<int:image_id>")
class ImageItem(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ImageUploadSchema)
    @blueprint.response(200, ImageSchema)
    def patch(self, data: dict[str, Any], product_id: int, image_id: int) -> dict[str, Any]:
        """Change an image's description (its alt text)."""
        product = _owned_product(product_id)
        image = products.set_alt_text(current_person(), product, image_id, data.get("alt_text", ""))
        return image_view(image)

    @blueprint.response(204)
    def delete(self, product_id: int, image_id: int) -> None:
        """Remove an image."""
        products.remove_image(current_person(), _owned_product(product_id), image_id)


# --- search and categories -----------------------------------------------------------------


@blueprint.route("/search")
class Search(MethodView):
    @blueprint.arguments(SearchArgsSchema, location="query")
    @blueprint.response(200, SearchPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Full-text search over title, description, tags and shop name, with filters.

        Every word must match, as a prefix or by its English or French stem ("mugs" finds
        "mug", "tasses" finds "tasse"). Words that find nothing and are not in the catalogue
        are corrected ("stonewear" -> "stoneware"): the items are then what the correction
        finds (`corrected`), unless `exact` is set. Sorts: relevance (the default with
        words), newest, price_asc, price_desc.
        """
        query = browse.SearchQuery(
            text=args["q"],
            category=args["category"],
            min_price=args.get("min_price"),
            max_price=args.get("max_price"),
            condition=args["condition"],
            shop=args["shop"],
            in_stock=args["in_stock"],
            sort=args["sort"],
            exact=args["exact"],
        )
        found = browse.run_search(query, args["page"], args["per_page"])
        return {
            **product_page(found.page),
            "total": found.total,
            "more": found.more,
            "suggestion": found.suggestion,
            "corrected": found.corrected,
        }


@blueprint.route("/categories")
class Categories(MethodView):
    @blueprint.response(200, CategorySchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The category tree; products are filed under a leaf."""
        return [
            {
                "key": top.key,
                "label": str(top.label),
                "children": [
                    {"key": leaf.key, "label": str(leaf.label), "children": []}
                    for leaf in top.children
                ],
            }
            for top in categories.TREE
        ]


def register() -> None:
    api.register(blueprint, "")
