from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app import forms
from marketplace import categories
from marketplace.models import (
    ALT_MAX,
    OPTION_MAX,
    SHOP_NAME_MAX,
    SHOP_SLUG_MAX,
    SKU_MAX,
    TITLE_MAX,
)


def condition_choices() -> list[tuple[str, str]]:
    return [
        ("new", str(_l("New"))),
        ("like_new", str(_l("Like new"))),
        ("good", str(_l("Good"))),
        ("fair", str(_l("Fair"))),
    ]


def status_choices() -> list[tuple[str, str]]:
    return [
        ("draft", str(_l("Draft (only you see it)"))),
        ("active", str(_l("Active (on sale)"))),
        ("archived", str(_l("Archived (hidden)"))),
    ]


class ShopForm(FlaskForm):
    name = StringField(_l("Shop name"), validators=[DataRequired(), Length(max=SHOP_NAME_MAX)])
    slug = StringField(
        _l("Shop address"),
        validators=[Optional(), Length(max=SHOP_SLUG_MAX)],
        description=_l("Your shop's web address: lower-case letters, digits and hyphens."),
    )
    description = TextAreaField(
        _l("About the shop"),
        validators=[Optional()],
        description=_l("Markdown: **bold**, *italic*, lists and links."),
    )
    logo = FileField(_l("Logo"), description=_l("A JPEG, PNG or WebP image, up to 10 MB."))
    remove_logo = BooleanField(_l("Remove the logo"))
    banner = FileField(_l("Banner"), description=_l("A wide JPEG, PNG or WebP image, up to 10 MB."))
    remove_banner = BooleanField(_l("Remove the banner"))
    return_policy = TextAreaField(_l("Return policy"), validators=[Optional()])
    return_window_days = forms.IntegerField(
        _l("Return window (days)"),
        validators=[Optional(), NumberRange(min=0, max=365)],
        description=_l("How many days after delivery buyers may ask for a return; 0 for none."),
    )
    shipping_flat = forms.AmountField(
        _l("Shipping per order"),
        validators=[Optional()],
        description=_l("A flat rate for each order, such as 4.90. Zero ships free."),
    )
    free_shipping_over = forms.AmountField(
        _l("Free shipping from"),
        validators=[Optional()],
        description=_l("Orders of at least this amount ship free. Leave empty for never."),
    )
    processing_days = forms.IntegerField(
        _l("Processing time (days)"),
        validators=[DataRequired(), NumberRange(min=1, max=60)],
        description=_l("How many days you need before an order ships."),
    )
    curator_commission = forms.PercentField(
        _l("Curator commission (%)"),
        validators=[InputRequired()],
        description=_l(
            "What a curator earns when their pick sells your product, as a share of the price."
        ),
    )


class ProductForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX)])
    description = TextAreaField(
        _l("Description"),
        validators=[Optional()],
        description=_l("Markdown: **bold**, *italic*, lists and links."),
    )
    category = SelectField(_l("Category"), validators=[DataRequired()])
    tags = StringField(
        _l("Tags"),
        validators=[Optional(), Length(max=500)],
        description=_l("Separated by commas, such as: linen, blue, summer."),
    )
    condition = SelectField(_l("Condition"), validators=[DataRequired()])
    option1_name = StringField(
        _l("First option"),
        validators=[Optional(), Length(max=OPTION_MAX)],
        description=_l("If the product comes in variants, what they differ by, such as Size."),
    )
    option2_name = StringField(
        _l("Second option"),
        validators=[Optional(), Length(max=OPTION_MAX)],
        description=_l("Optional, such as Colour."),
    )
    status = SelectField(_l("Status"), validators=[DataRequired()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = [("", str(_l("Choose a category"))), *categories.leaf_choices()]
        self.condition.choices = condition_choices()
        self.status.choices = status_choices()


class NewProductForm(ProductForm):
    """A new product: its details, its first (or only) variant, and pictures."""

    price = forms.AmountField(_l("Price"), validators=[InputRequired()])
    stock = forms.IntegerField(_l("In stock"), validators=[Optional()], default=1)
    sku = StringField(
        _l("SKU"),
        validators=[Optional(), Length(max=SKU_MAX)],
        description=_l("Your own reference. Leave empty to get one."),
    )
    option1 = StringField(_l("First option's value"), validators=[Optional()])
    option2 = StringField(_l("Second option's value"), validators=[Optional()])
    images = MultipleFileField(
        _l("Pictures"),
        description=_l("Up to 20 JPEG, PNG or WebP images, 10 MB each. The first is the cover."),
    )


class VariantForm(FlaskForm):
    option1 = StringField(_l("First option"), validators=[Optional(), Length(max=OPTION_MAX)])
    option2 = StringField(_l("Second option"), validators=[Optional(), Length(max=OPTION_MAX)])
    sku = StringField(_l("SKU"), validators=[Optional(), Length(max=SKU_MAX)])
    price = forms.AmountField(_l("Price"), validators=[InputRequired()])
    stock = forms.IntegerField(_l("In stock"), validators=[Optional()])


class ImagesForm(FlaskForm):
    images = MultipleFileField(
        _l("Add pictures"),
        description=_l("JPEG, PNG or WebP, 10 MB each; up to 20 per product."),
    )
    alt_text = StringField(
        _l("Description of the pictures"),
        validators=[Optional(), Length(max=ALT_MAX)],
        description=_l("For people who cannot see them, such as: blue mug, side view."),
    )


class AltTextForm(FlaskForm):
    alt_text = StringField(_l("Description"), validators=[Optional(), Length(max=ALT_MAX)])


class QuickEditForm(FlaskForm):
    status = SelectField(_l("Status"), validators=[Optional()])
    # Per-variant price and stock come as price-<id> and stock-<id>, parsed by the view.
    product_id = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = status_choices()


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form; nothing changes

    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    # Rendered on every search page, the same few ways: kept once rendered.
    category = SelectField(_l("Category"), validators=[Optional()], widget=forms.RememberedSelect())
    min_price = forms.AmountField(_l("Lowest price"), validators=[Optional()])
    max_price = forms.AmountField(_l("Highest price"), validators=[Optional()])
    condition = SelectField(
        _l("Condition"), validators=[Optional()], widget=forms.RememberedSelect()
    )
    shop = StringField(_l("Shop"), validators=[Optional(), Length(max=SHOP_SLUG_MAX)])
    in_stock = BooleanField(_l("In stock only"))
    sort = SelectField(_l("Sort by"), validators=[Optional()], widget=forms.RememberedSelect())
    # Set by the "search instead for" link: the words as typed, not corrected. Not shown.
    exact = BooleanField(_l("Search the words as typed"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = [("", str(_l("All categories"))), *categories.all_choices()]
        self.condition.choices = [("", str(_l("Any condition"))), *condition_choices()]
        self.sort.choices = [
            ("", str(_l("Best match"))),
            ("newest", str(_l("Newest"))),
            ("price_asc", str(_l("Price: low to high"))),
            ("price_desc", str(_l("Price: high to low"))),
        ]
