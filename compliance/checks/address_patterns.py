"""Regular expressions that recognise a postal address block, per country.

They detect presence only. A match means that a text window has the shape
of a complete address for that country (a street or box line plus a
postcode and locality), not that the address exists or is the sender's.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class AddressKind(enum.StrEnum):
    """Delivery type of an address: street, post-office box or private mailbox."""

    STREET = "street"
    PO_BOX = "po_box"
    PMB = "pmb"


@dataclass(frozen=True)
class AddressMatch:
    """An address found in a text window: its country (ISO 3166 code), kind and text."""

    country: str
    kind: AddressKind
    text: str


# United States: two-letter USPS state codes (with DC and the territories)
# or full state names, then a ZIP or ZIP+4 code.
_US_STATE_CODES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|"
    "NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|VI|GU|AS|MP"
)
_US_STATE_NAMES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|"
    "Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|"
    "Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|"
    "New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|"
    "Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|"
    "West Virginia|Wisconsin|Wyoming|District of Columbia|Puerto Rico"
)
US_STATE_ZIP = re.compile(
    rf"\b(?:(?:{_US_STATE_CODES})\.?|(?:{_US_STATE_NAMES}))[\s,]+\d{{5}}(?:-\d{{4}})?\b"
)

# English street suffixes (USPS Publication 28 and common UK names), full
# and abbreviated.
_STREET_SUFFIXES = (
    "Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Way|Court|Ct|Place|Pl|"
    "Parkway|Pkwy|Highway|Hwy|Circle|Cir|Terrace|Ter|Square|Sq|Pike|Plaza|Plz|Trail|Trl|Row|"
    "Alley|Aly|Loop|Canyon|Cyn|Freeway|Fwy|Expressway|Expy|Route|Rte|Center|Ctr|Crescent|Cres|"
    "Close|Gardens|Gdns|Grove|Gr|Mews|Hill|Green|Walk|Park|Quay|Wharf|Yard|Broadway"
)
_SPELLED_NUMBERS = "One|Two|Three|Four|Five|Six|Seven|Eight|Nine|Ten"
ENGLISH_STREET = re.compile(
    rf"\b(?:\d+[A-Za-z]?(?:-[A-Za-z\d]+)?|{_SPELLED_NUMBERS})\s+"
    rf"(?:[A-Za-z0-9.'\u2019-]+\s+){{0,4}}?(?:{_STREET_SUFFIXES})\b\.?",
    re.IGNORECASE,
)
PO_BOX = re.compile(
    r"\b(?:P\.?\s?O\.?\s*Box|Post\s+Office\s+Box|PO\s+Box|Rural\s+Route\s+\d+\s+Box)\s*#?\s*\d+",
    re.IGNORECASE,
)
# USPS private mailboxes at a commercial mail receiving agency: PMB or # and
# a number (Domestic Mail Manual 508.1.8).
PRIVATE_MAILBOX = re.compile(r"(?:\bPMB\s*|#\s?)\d+\b", re.IGNORECASE)

# Canada: province code or name then postal code A1A 1A1 (letters D, F, I,
# O, Q and U are never used, and W and Z never come first).
_CA_PROVINCES = (
    "AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT|Alberta|British Columbia|Manitoba|New Brunswick|"
    "Newfoundland and Labrador|Nova Scotia|Ontario|Prince Edward Island|Qu[eé]bec|Saskatchewan|"
    "Yukon|Northwest Territories|Nunavut"
)
CA_PROVINCE_POSTCODE = re.compile(
    rf"\b(?i:{_CA_PROVINCES})\.?[\s,]+"
    r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s?\d[ABCEGHJ-NPRSTV-Z]\d\b"
)

# United Kingdom: outward code (area, district) and inward code (sector,
# unit). The inward letters never include C, I, K, M, O or V.
UK_POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}|GIR\s?0AA)\b")

# France (La Poste, NF Z10-011): a five-digit code postal then the commune,
# optionally CEDEX and its number. Départements run from 01 to 98.
FR_POSTCODE_COMMUNE = re.compile(
    r"\b(?:0[1-9]|[1-8]\d|9[0-8])\d{3}\s*,?\s+[A-ZÀ-Ý][A-Za-zÀ-ÿ'\u2019 -]*"
    r"(?:\s+CEDEX(?:\s+\d{1,2})?)?",
)
FR_CEDEX = re.compile(r"\b\d{5}\s+[A-Za-zÀ-ÿ'\u2019 -]+?\s+CEDEX(?:\s+\d{1,2})?\b", re.IGNORECASE)
_FR_STREET_TYPES = (
    "rue|avenue|av\\.?|boulevard|bd|chemin|place|pl\\.?|all[ée]e|impasse|quai|cours|route|"
    "rte|square|passage|faubourg|fg|voie|sentier|esplanade|parvis|rond-point|ZA|ZI|ZAC|"
    "lieu-dit|cit[ée]|r[ée]sidence|hameau|villa"
)
FR_STREET = re.compile(
    rf"\b\d{{1,4}}(?:\s?(?:bis|ter|quater|[BT]))?,?\s+(?:{_FR_STREET_TYPES})\b",
    re.IGNORECASE,
)
# Delivery services: boîte postale, course spéciale, tri service arrivée and
# reply-paid "Libre réponse" numbers.
FR_DELIVERY_SERVICE = re.compile(
    r"\b(?:BP|B\.P\.|CS|TSA|Bo[iî]te\s+postale|Libre\s+r[ée]ponse)\s*\d{1,6}\b",
    re.IGNORECASE,
)

# Germany (five digits), Austria, Switzerland, Belgium, Luxembourg and
# Denmark (four digits, L- prefix in Luxembourg): postcode then locality.
CONTINENTAL_POSTCODE_LOCALITY = re.compile(
    r"\b(?:[A-Z]{1,2}-)?\d{4,5}\s+[A-ZÀ-ÝÄÖÜ][A-Za-zÀ-ÿäöüß.'\u2019 -]*"
)
_GERMAN_STREET_SUFFIXES = (
    "straße|strasse|str\\.|weg|platz|allee|gasse|ring|damm|ufer|markt|chaussee|steig|pfad"
)
GERMAN_STREET = re.compile(
    rf"\b[A-ZÄÖÜ][\wäöüß.-]*(?:{_GERMAN_STREET_SUFFIXES})\s*\d+\s?[a-zA-Z]?\b"
    rf"|\b[A-ZÄÖÜ][\wäöüß-]+\s+(?:Straße|Strasse|Str\.|Weg|Platz|Allee|Gasse|Ring|Damm)"
    rf"\s+\d+\s?[a-zA-Z]?\b",
)
# Street first and number last, as in Swiss and Belgian French addresses.
FRENCH_STREET_NUMBER_LAST = re.compile(
    r"\b(?:rue|avenue|chemin|route|place|boulevard|quai|all[ée]e)\s+[\w'\u2019 -]+?\s+\d+[a-z]?\b",
    re.IGNORECASE,
)
CONTINENTAL_BOX = re.compile(
    r"\b(?:Postfach|Case\s+postale|Casella\s+postale|Postbus)\s*\d+", re.IGNORECASE
)

# The Netherlands: four digits and two letters, then the town.
NL_POSTCODE_TOWN = re.compile(r"\b[1-9]\d{3}\s?[A-Z]{2}\s+[A-Z][A-Za-z'\u2019 -]*")
NL_STREET = re.compile(
    r"\b[A-Z][\w.-]*(?:straat|laan|weg|plein|gracht|kade|singel|dijk|markt)\s+\d+[a-z]?\b"
)


def match_address(window: str) -> AddressMatch | None:
    """Return the address that ``window`` has the shape of, or None.

    Countries are tried from the most specific postcode format to the least
    specific, so that a US ZIP is not taken for a German or French postcode.
    """
    for matcher in (_match_us, _match_ca, _match_uk, _match_fr, _match_nl, _match_continental):
        found = matcher(window)
        if found is not None:
            return found
    return None


def _match_us(window: str) -> AddressMatch | None:
    postcode = US_STATE_ZIP.search(window)
    if not postcode:
        return None
    street = ENGLISH_STREET.search(window)
    if street:
        mailbox = PRIVATE_MAILBOX.search(window, street.end())
        if mailbox:
            return _found("US", AddressKind.PMB, window, postcode, street, mailbox)
        return _found("US", AddressKind.STREET, window, postcode, street)
    box = PO_BOX.search(window)
    if box:
        return _found("US", AddressKind.PO_BOX, window, postcode, box)
    return None


def _match_ca(window: str) -> AddressMatch | None:
    postcode = CA_PROVINCE_POSTCODE.search(window)
    if not postcode:
        return None
    street = ENGLISH_STREET.search(window) or FRENCH_STREET_NUMBER_LAST.search(window)
    if street:
        return _found("CA", AddressKind.STREET, window, postcode, street)
    box = PO_BOX.search(window)
    if box:
        return _found("CA", AddressKind.PO_BOX, window, postcode, box)
    return None


def _match_uk(window: str) -> AddressMatch | None:
    postcode = UK_POSTCODE.search(window)
    if not postcode:
        return None
    street = ENGLISH_STREET.search(window)
    if street:
        return _found("GB", AddressKind.STREET, window, postcode, street)
    box = PO_BOX.search(window)
    if box:
        return _found("GB", AddressKind.PO_BOX, window, postcode, box)
    return None


def _match_fr(window: str) -> AddressMatch | None:
    postcode = FR_POSTCODE_COMMUNE.search(window)
    if not postcode:
        return None
    street = FR_STREET.search(window)
    if street:
        return _found("FR", AddressKind.STREET, window, postcode, street)
    # A CEDEX code or a delivery service is a complete address without a
    # street line (La Poste line 5 and line 6).
    services = [
        found
        for found in (FR_DELIVERY_SERVICE.search(window), FR_CEDEX.search(window))
        if found is not None
    ]
    if services:
        return _found("FR", AddressKind.PO_BOX, window, postcode, *services)
    return None


def _match_nl(window: str) -> AddressMatch | None:
    postcode = NL_POSTCODE_TOWN.search(window)
    if not postcode:
        return None
    street = NL_STREET.search(window)
    if street:
        return _found("NL", AddressKind.STREET, window, postcode, street)
    box = CONTINENTAL_BOX.search(window)
    if box:
        return _found("NL", AddressKind.PO_BOX, window, postcode, box)
    return None


def _match_continental(window: str) -> AddressMatch | None:
    postcode = CONTINENTAL_POSTCODE_LOCALITY.search(window)
    if not postcode:
        return None
    # The postcode alone does not identify the country. Five digits are most
    # often German, four digits Austrian, Swiss, Belgian or Danish.
    digits = sum(character.isdigit() for character in postcode.group())
    country = "DE" if digits == 5 else ""
    street = GERMAN_STREET.search(window) or FRENCH_STREET_NUMBER_LAST.search(window)
    if street:
        return _found(country, AddressKind.STREET, window, postcode, street)
    box = CONTINENTAL_BOX.search(window)
    if box:
        return _found(country, AddressKind.PO_BOX, window, postcode, box)
    return None


def _found(country: str, kind: AddressKind, window: str, *parts: re.Match[str]) -> AddressMatch:
    # The text shown runs from the first to the last matched part, which
    # leaves out the sentences or company names around the address.
    start = min(part.start() for part in parts)
    end = max(part.end() for part in parts)
    return AddressMatch(country, kind, window[start:end].strip(" ,"))
