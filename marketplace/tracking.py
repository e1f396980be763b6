"""Where a buyer follows their parcel: the carrier's tracking page, for the carriers we know.

A seller types the carrier's name and the tracking number as they like ("La Poste",
"colissimo", "DHL Express"; "1Z 999 AA1 01 2345 6784"). A link is built only when the carrier
is one of ours and the number is letters and digits (spaces and hyphens, as printed on labels,
are dropped); anything else is shown as the plain number it is, escaped like any text.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from marketplace.text import fold

# The carrier's name folded to letters and digits -> its tracking page, {number} the number.
TRACKING_PAGES: dict[str, str] = {
    "laposte": "https://www.laposte.fr/outils/suivre-vos-envois?code={number}",
    "colissimo": "https://www.laposte.fr/outils/suivre-vos-envois?code={number}",
    "lettresuivie": "https://www.laposte.fr/outils/suivre-vos-envois?code={number}",
    "chronopost": "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={number}",
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}&submit=1",
    "deutschepost": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}&submit=1",
    "ups": "https://www.ups.com/track?tracknum={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "royalmail": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
    "parcelforce": "https://www.parcelforce.com/track-trace?trackNumber={number}",
    "canadapost": "https://www.canadapost-postescanada.ca/track-reperage/en#/details/{number}",
}
# Longest first: "DHL Express" is DHL, "USPS" is not UPS.
_BY_LENGTH = sorted(TRACKING_PAGES, key=len, reverse=True)
_NUMBER = re.compile(r"[A-Za-z0-9]{4,40}")


def _carrier_key(carrier: str) -> str | None:
    folded = re.sub(r"[^a-z0-9]", "", fold(carrier or ""))
    return next((key for key in _BY_LENGTH if folded.startswith(key)), None)


def tracking_url(carrier: str | None, number: str | None) -> str | None:
    """The carrier's page for this parcel, or None: an unknown carrier, no number, or a
    number with characters no carrier uses."""
    key = _carrier_key(carrier or "")
    compact = re.sub(r"[\s\-]", "", number or "")
    if key is None or not _NUMBER.fullmatch(compact):
        return None
    return TRACKING_PAGES[key].format(number=quote(compact, safe=""))
