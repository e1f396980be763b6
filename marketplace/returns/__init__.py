"""Returns: a buyer sends back some lines of a delivered order within the shop's window.

The seller accepts (with instructions) or refuses; a refusal can go to the moderators; when
the parcel is back (or the seller stays silent too long) the refund goes through the orders'
one refund path (`orders.request_refund` then `orders.deliver_refund`), so the split is
reversed exactly as for any other refund.
"""
