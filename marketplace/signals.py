"""What the marketplace announces. Higher features (social, payouts) connect at start-up.

Each signal is sent with the app as sender, inside the unit of work of the action (after a
flush, so ids exist); receivers add and flush their own rows and must not commit. A receiver
that raises makes the action fail and roll back, so receivers keep to their own bookkeeping.

cart_line_added(app, line, user)
    A product variant was put in a cart, or its quantity raised by another add. `line` is the
    CartLine (id, cart_id, product_id, variant_id, quantity); `user` the logged-in buyer or
    None for a guest. Social attaches a curator's attribution here (last click wins).
cart_line_merged(app, source_line_id, target_line_id)
    At log-in a guest cart line was folded into the buyer's line for the same variant; the
    source line is gone. Social keeps the newer attribution.
checkout_started(app, checkout)
    A checkout was opened from a cart and its stock reserved. `checkout.lines` are snapshots
    with cart_line_id, product_id, variant_id, shop_id, unit_price_minor, quantity. Receivers
    fix what a line's split will be (attribution, rates) before the buyer pays.
checkout_paid(app, checkout, orders)
    The payment succeeded (from Stripe's webhook) and one order per shop was created; each
    order line has checkout_line_id. Payouts posts the sale to the ledger; social counts orders
    per share link.
order_refunded(app, order, refund)
    A refund of an order succeeded at Stripe. Payouts allocates it across the split.
order_delivered(app, order)
    The order was confirmed delivered (by the buyer, the seller, or auto-completion). Payouts
    starts the hold before earnings become available.
price_dropped(app, product, old_price_minor, new_price_minor, actor)
    The lowest price a shopper can buy the product at went down (a seller lowered a price of
    a variant in stock); `actor` is who changed it. Only for a listed product.
back_in_stock(app, product, variant_ids, actor)
    Variants that were sold out have stock again (a seller's edit, a refund's restock, a
    checkout's released reservation); `actor` is the seller, or None. Only for a listed
    product. Social tells the people who saved the product, after the commit.
return_updated(app, return_request, step, actor, recipient_id)
    A return moved a step (requested, accepted, refused, escalated, decided, received,
    refunded by the platform…); `recipient_id` is the person on the other side (the buyer or
    the seller), `actor` who acted or None for the platform. Sent once per recipient; the
    marketplace e-mails them itself. Social shows it in the recipient's notifications.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

cart_line_added = _signals.signal("cart-line-added")
cart_line_merged = _signals.signal("cart-line-merged")
checkout_started = _signals.signal("checkout-started")
checkout_paid = _signals.signal("checkout-paid")
order_refunded = _signals.signal("order-refunded")
order_delivered = _signals.signal("order-delivered")
price_dropped = _signals.signal("price-dropped")
back_in_stock = _signals.signal("back-in-stock")
return_updated = _signals.signal("return-updated")
