"""Each establishment's personal link to its review page (vt-audit serve): {url}/revue/{jeton}.

The token names one establishment and one audit month, and when it stops working (the deadline
plus `grace_days`). It is signed with the portal's secret (itsdangerous, HMAC-SHA256: 256 bits),
so that nobody can make one for another establishment or stretch its life. `vt-audit serve`
also refuses a token withdrawn in the campaign file, or of a month whose next campaign was sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "vt-audit revue des accès"


@dataclass(frozen=True)
class ReviewLink:
    finess: str
    as_of: dt.date
    expires: dt.date  # the last day it works

    @property
    def revocation_key(self) -> str:
        """How the campaign file's `portail.revoked` names it."""
        return f"{self.finess}:{self.as_of.isoformat()}"


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


def make_token(secret: str, link: ReviewLink) -> str:
    return _serializer(secret).dumps({"f": link.finess, "m": link.as_of.isoformat(), "x": link.expires.isoformat()})


def read_token(secret: str, token: str) -> ReviewLink | None:
    """The link a token stands for, or None when it was not signed with `secret` or is malformed."""
    try:
        data = _serializer(secret).loads(token)
        return ReviewLink(str(data["f"]), dt.date.fromisoformat(data["m"]), dt.date.fromisoformat(data["x"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def campaign_link(finess: str, as_of: dt.date, deadline: dt.date, grace_days: int) -> ReviewLink:
    """An establishment's link for a campaign: it works through the deadline and `grace_days` more."""
    return ReviewLink(finess, as_of, deadline + dt.timedelta(days=grace_days))


def review_url(base: str, secret: str, link: ReviewLink) -> str:
    return f"{base}/revue/{make_token(secret, link)}"
