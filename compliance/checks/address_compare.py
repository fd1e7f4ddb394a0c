"""Comparison of the footer address with the sender's registered address (CAN-SPAM US-02).

Both are reduced to comparable tokens: accents, case and punctuation are
dropped and common street words are abbreviated the USPS way (Publication
28) or the La Poste way, so that "100 Market Street, Suite 5" and
"100 MARKET ST STE 5" compare equal.
"""

from __future__ import annotations

import re
import unicodedata

_ABBREVIATIONS = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "boulevard": "blvd",
    "drive": "dr", "lane": "ln", "court": "ct", "place": "pl", "parkway": "pkwy",
    "highway": "hwy", "square": "sq", "suite": "ste", "floor": "fl", "building": "bldg",
    "apartment": "apt", "north": "n", "south": "s", "east": "e", "west": "w",
    "northwest": "nw", "northeast": "ne", "southwest": "sw", "southeast": "se",
    "post": "po", "office": "", "p": "", "o": "", "box": "box",
    "chemin": "ch", "allee": "all", "impasse": "imp",
    "cedex": "cedex", "usa": "", "us": "", "united": "", "states": "", "france": "",
    "canada": "", "uk": "", "germany": "", "deutschland": "",
}  # fmt: skip

_TOKEN = re.compile(r"[a-z0-9]+")


def address_tokens(address: str) -> list[str]:
    """Return the comparable tokens of ``address``, in order."""
    decomposed = unicodedata.normalize("NFKD", address)
    plain = "".join(character for character in decomposed if not unicodedata.combining(character))
    tokens = []
    for token in _TOKEN.findall(plain.lower()):
        token = _ABBREVIATIONS.get(token, token)
        if token:
            tokens.append(token)
    return tokens


def same_address(found: str, registered: str) -> bool:
    """Tell whether the footer address ``found`` is the ``registered`` address.

    Every number of the registered address (street number, box, postcode)
    must appear in the footer, and at least 80 % of its words. The footer
    may add words such as a company name or a country.
    """
    found_tokens = set(address_tokens(found))
    registered_tokens = address_tokens(registered)
    if not registered_tokens:
        return False
    numbers = [token for token in registered_tokens if any(c.isdigit() for c in token)]
    if any(number not in found_tokens for number in numbers):
        return False
    words = [token for token in registered_tokens if token not in numbers]
    if not words:
        return True
    shared = sum(1 for word in words if word in found_tokens)
    return shared / len(words) >= 0.8
