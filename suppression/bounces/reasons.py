"""Map diagnostic text and RFC 3463 status codes to Sisimai's reason vocabulary.

Reasons are read first from the remote server's own words, then from the
enhanced status code (RFC 3463 section 3), because servers often send a
generic 5.0.0 or 5.7.1 with a precise sentence. The class follows from the
reason as Sisimai defines it: only ``userunknown``, ``hostunknown``,
``hasmoved`` and a permanent ``notaccept`` are hard bounces.
"""

from __future__ import annotations

import re

from suppression.bounces.patternkeys import alternative_keys, group_keys
from suppression.bounces.verdict import BounceClass

# Ordered: the first reason whose pattern matches wins, so narrow phrases
# (a full mailbox that says "user") come before broad ones.
_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        # au (KDDI) rejects mail stopped by its customers' reception filters with a
        # user-unknown sentence that names no address ("550 : User unknown"). For a
        # mailbox that does not exist, the address stands between the code and the colon.
        "filtered",
        (r"\b5\d\d:? : user unknown",),
    ),
    (
        # Google Groups refusals name the group help page in every language they come in.
        "rejected",
        (r"groups\.google\.com/support", r"'send mail as'", r"from: domain is invalid"),
    ),
    (
        "notcompliantrfc",
        (
            r"multiple addresses in from",
            r"headers? are not accepted",
            r"not rfc ?(?:5322|2822) compliant",
        ),
    ),
    ("networkerror", (r"dns query failed",)),
    # Tencent (QQ) limits how often one IP address may connect; Spectrum's AUP#In-1310
    # code names too many connections from one address.
    ("toomanyconn", (r"(?:ip|connection) frequency limited", r"\baup#in-1310\b")),
    (
        # Connection-level refusals: Orange and La Poste answer "Service refuse" (French
        # for refused) before any command, Cox's AUP#CDRBL names its block list.
        "blocked",
        (
            r"service refuse",
            r"adresse ip source bloquee",
            r"esmtp not accepting connections",
            r"\baup#cdrbl\b",
        ),
    ),
    (
        # Orange's code 506 is its spam refusal; a block list of URLs judges the content.
        "spamdetected",
        (r"\bofr_?506\b", r"blacklisted url", r"rejected due to spam classification"),
    ),
    # Yahoo's TSS04 deferral: the sender's volume or its recipients' complaints.
    ("badreputation", (r"unexpected volume or user complaints",)),
    # The cause a qmail report names before its give-up sentence about the queue.
    ("systemerror", (r"unable to contact ldap",)),
    (
        "networkerror",
        (
            r"wasn't able to establish an smtp connection",
            r"host name lookup failure",
            r"network error",
        ),
    ),
    # The recipient's server holds the address for review: neither accepted nor refused.
    ("onhold", (r"address rejected: on hold\b",)),
    (
        # Microsoft's directory-based edge blocking refuses a recipient that is not in the
        # tenant's directory with these words and a 5.4.1 or 5.7.1 status.
        "userunknown",
        (r"recipient address rejected: access denied",),
    ),
    # InterScan's only sentence for a recipient its next hop refused.
    ("userunknown", (r"unable to deliver message to <[^>]+> \(and other recipients",)),
    # Facebook's refusal code RCP-P2: the recipient's own settings refuse the mail.
    ("filtered", (r"refused due to recipient preferences",)),
    # A reply that names only a host name as missing: "553 mx.example.net does not exist".
    (
        "hostunknown",
        (r"\b5\d\d [a-z0-9-]+(?:\.[a-z0-9-]+)+ does not exist", r"\bhost \S+ not found"),
    ),
    # Null MX (RFC 7505) as Exim words it.
    ("notaccept", (r"indicated no smtp service",)),
    ("policyviolation", (r"host network not allowed",)),
    ("blocked", (r"invalid ip for sending",)),
    ("syntaxerror", (r"malformed (?:recipient )?address", r"incorrectly constructed")),
    (
        # A delay warning: the MTA keeps the message queued and will retry.
        "expired",
        (
            r"message expired",
            r"delivery failed \d+ attempts",
            r"warning message only",
            r"will be retried for",
            # An X3 gateway's words for a route it could not find before giving up.
            r"could not find a gateway for",
            # Zoho's words for a host it keeps trying.
            r"host not reachable",
        ),
    ),
    ("systemfull", (r"insufficient (?:disk|system) (?:space|storage)",)),
    ("speeding", (r"receiving mail at a rate",)),
    ("toomanyconn", (r"connection rate limit",)),
    (
        "suspend",
        (r"temporar(?:y|ily) locked", r"account that you tried to reach is (?:disabled|inactive)"),
    ),
    ("userunknown", (r"check if (?:the )?address is correct",)),
    ("policyviolation", (r"content presents a potential",)),
    (
        "virusdetected",
        (r"\bvirus", r"infected", r"malware", r"\bworm\b", r"dangerous attachment"),
    ),
    (
        "failedstarttls",
        (
            r"starttls (?:is )?(?:required|failed|negotiation)",
            r"tls (?:handshake|negotiation) fail",
            r"must issue a starttls",
        ),
    ),
    (
        "mailboxfull",
        (
            r"mail ?box (?:is )?(?:full|over|exceeded|size limit)",
            r"quota (?:exceeded|exceed|full)",
            r"over (?:the )?(?:quota|storage)",
            r"(?:exceeded|exceeds|exceed) (?:the |his |her |their )?"
            r"(?:storage|quota|disk quota|mailbox)",
            r"(?:inbox|account|mailfolder|mail box|mailbox) is full",
            r"is over quota",
            r"user (?:is )?over ?quota",
            r"insufficient (?:disk |storage )?(?:space|quota) "
            r"(?:for|on) (?:the )?(?:user|recipient|mailbox)",
            r"not enough (?:storage|space) (?:for|in) "
            r"(?:the |this )?(?:user|mailbox)",
            r"mailbox full",
            r"quota violation",
            r"disk quota",
            r"full mailbox",
            r"mailbox has exceeded",
            r"storage limit",
            r"too much mail data",
            r"no space left (?:in|on) (?:the )?mailbox",
            r"recipient(?:'s)? (?:mailbox|inbox) (?:is )?full",
            r"out of (?:mailbox )?(?:space|storage)",
            r"mailbox size",
            r"mailbox exceeds",
            r"quota",
        ),
    ),
    (
        "mesgtoobig",
        (
            r"message (?:is )?too (?:large|big)",
            r"message size exceeds",
            r"line limit exceeded",
            r"exceeds? (?:the )?"
            r"(?:maximum )?(?:message )?size",
            r"message (?:length|size) (?:exceeds|is over|limit)",
            r"size limit",
            r"mail too large",
            r"message file too big",
            r"too big for",
        ),
    ),
    (
        "exceedlimit",
        (
            r"too many recipients",
            r"exceeded? (?:the )?(?:header|line) (?:size|length)",
            r"message header size exceeds",
            r"line too long",
        ),
    ),
    (
        "hasmoved",
        (
            r"(?:user|mailbox|address|recipient) has moved",
            r"has been moved",
            r"moved to",
            r"no longer (?:valid|available) at this address",
            r"is no longer at this",
        ),
    ),
    (
        "userunknown",
        (
            r"user unknown",
            r"unknown user",
            r"no such (?:user|mailbox|recipient)",
            r"not listed in",
            r"unknown recipient",
            r"(?:recipient|mailbox|user|address) (?:does not|doesn't) exist",
            r"mailbox (?:not found|unavailable)",
            r"invalid (?:recipient|mailbox)",
            r"no valid recipients",
        ),
    ),
    (
        "suspend",
        (
            r"(?:account|mailbox|address|user)(?: has been| is)? (?:disabled|deactivated|suspended|"
            r"inactive|frozen|locked|blocked)",
            r"(?:disabled|suspended|inactive|deactivated|expired)"
            r" (?:account|mailbox|recipient|user)",
            r"has been (?:disabled|suspended|deactivated|"
            r"terminated)",
            r"account (?:has been )?(?:closed|terminated|discontinued|expired)",
            r"temporarily (?:disabled|deactivated|inactive)",
            r"not (?:an )?active",
            r"is not currently active",
            r"mailbox is not available",
        ),
    ),
    (
        "norelaying",
        (
            r"relay(?:ing)? (?:access )?(?:denied|not (?:permitted|allowed)|prohibited)",
            r"(?:unable|not permitted|not allowed) to relay",
            r"we do not relay",
            r"no relay",
            r"relay(?:ing)? not",
            r"not a gateway",
            r"relay access denied",
            r"not configured to relay",
            r"address is not verified",
            r"relaying denied",
            r"does not relay",
        ),
    ),
    (
        "notaccept",
        (
            r"(?:doesn't|does not|do not|don't) (?:receive|accept) (?:any )?(?:e-?mail|mail)",
            r"null mx",
            r"no mx record",
            r"not accept(?:ing)? (?:any )?mail",
            r"not accepting network messages",
            r"no mx found",
            r"couldn't find a mail exchanger",
        ),
    ),
    (
        "hostunknown",
        (
            r"host (?:or domain name )?(?:not found|unknown)",
            r"unknown host",
            r"domain (?:name )?"
            r"(?:not found|does not exist|doesn't exist|is not found|unknown)",
            r"no such domain",
            r"name or service not known",
            r"unrout(?:e)?able (?:mail )?(?:address|domain)",
            r"dns error",
            r"nxdomain",
            r"mx (?:lookup|record) (?:failed|"
            r"not found)",
            r"illegal host/domain",
            r"unknown domain",
            r"domain (?:is )?invalid",
            r"invalid domain",
            r"domain is not reachable",
            r"unresolvable (?:domain|address)",
            r"no valid (?:mx|hosts?)",
            r"host not found",
            r"couldn't find any host",
            r"hostname lookup",
            r"unknown mail domain",
            r"domain .{0,40} (?:does not exist|not found)",
            r"no such host",
        ),
    ),
    (
        "requireptr",
        (
            r"reverse (?:dns|lookup|hostname|mapping|address)",
            r"\bptr\b",
            r"\brdns\b",
            r"cannot find your hostname",
            r"client host .{0,80}(?:does not have|without) (?:a )?"
            r"(?:ptr|reverse)",
            r"unresolvable (?:ip|address|host)",
            r"your (?:host|ip) "
            r"(?:name )?(?:is )?not (?:resolv|found)",
            r"cannot resolve your (?:address|hostname)",
            r"no dns (?:record|entry) for (?:your|the) ip",
            r"ip name lookup failed",
            r"reverse path",
            r"hostname does not match",
            r"mismatches client ip",
            r"(?:does not|doesn't) resolve",
        ),
    ),
    (
        "authfailure",
        (
            r"\bspf\b",
            r"\bdkim\b",
            r"\bdmarc\b",
            r"sender policy framework",
            r"authentication (?:failure|failed|check)",
            r"not (?:pass|authenticated)",
            r"unauthenticated (?:email|mail)",
            r"sender (?:is )?not authorized",
            r"domain owner's policy",
            r"fails? (?:to )?(?:pass )?(?:the )?authentication",
        ),
    ),
    (
        "badreputation",
        (r"(?:poor|low|bad) reputation", r"reputation", r"sender score"),
    ),
    (
        "spamdetected",
        (
            r"\bspam(?!haus|cop)",
            r"junk mail",
            r"unsolicited",
            r"bulk (?:e-?mail|mail|message)",
            r"content (?:was )?(?:rejected|filter)",
            r"message (?:content )?(?:was )?(?:classified|"
            r"identified|detected|considered|flagged) as",
            r"suspicious",
            r"scored too high",
            r"score (?:too high|exceeded)",
            r"phishing",
            r"blocked by content",
            r"uce\b",
        ),
    ),
    (
        "blocked",
        (
            r"black ?list",
            r"block ?list",
            r"\brbl\b",
            r"\bdnsbl\b",
            r"spamhaus",
            r"spamcop",
            r"\bsorbs\b",
            r"barracuda",
            r"listed (?:in|on|at|by)",
            r"your (?:ip|ip address|host|"
            r"network|server)(?: \S+)? (?:is|has been|was) (?:blocked|banned|rejected|listed|not "
            r"allowed)",
            r"(?:ip|host|client|connection) (?:blocked|rejected|refused|banned)",
            r"client host rejected",
            r"blocked (?:using|by|because)",
            r"access denied",
            r"ip (?:address )?(?:is )?(?:on|in) ",
            r"banned",
            r"not allowed to send",
            r"connection (?:refused|rejected|dropped) (?:by|from|due)",
            r"refused to talk",
            r"dynamic (?:ip|address|pool)",
            r"residential",
            r"\bdul\b",
            r"blocked",
            r"service unavailable.{0,40}(?:client|ip)",
            r"rejected (?:your|the) (?:ip|connection)",
            r"sender ip",
            r"not accept(?:ing|ed)? (?:mail|messages|connections) from",
        ),
    ),
    (
        "rejected",
        (
            r"sender (?:address )?(?:rejected|refused|denied|invalid|unknown|blocked)",
            r"sender verify failed",
            r"(?:mail from|envelope sender|return path|from address).{0,40}(?:rejected|refused|"
            r"invalid|not (?:allowed|accepted|permitted))",
            r"domain of sender",
            r"sender domain",
            r"mail ?from domain",
            r"sender verif",
            r"invalid sender",
            r"unknown sender",
            r"sender .{0,30}(?:does not exist|not exist|doesn't exist)",
            r"bad sender",
            r"sender (?:is )?not (?:allowed|permitted)",
            r"rejected by sender",
        ),
    ),
    (
        "filtered",
        (
            r"(?:rejected|refused|blocked|denied) by (?:the )?(?:recipient|user|receiver)",
            r"recipient (?:rejected|refused|has rejected)",
            r"user (?:has )?(?:rejected|refused|"
            r"blocked)",
            r"filter",
            r"not accept(?:ing)? (?:e-?mail|mail|messages) from (?:you|your|"
            r"this sender)",
            r"unable to deliver to",
            r"refused by recipient",
            r"denied by (?:the )?"
            r"recipient",
            r"whitelist",
            r"allow ?list",
        ),
    ),
    (
        "userunknown",
        (
            r"(?:user|recipient|mailbox|address|account|alias|addressee|local part|e-?mail"
            r" address|destination)(?: name)? (?:is )?(?:unknown|not found|not exist|does not "
            r"exist|doesn't exist|invalid|not valid|unavailable|not listed|nonexistent|"
            r"non-existent|not recognized|no longer exist)",
            r"(?:unknown|invalid|no such|nonexistent|non-existent|bad|unrecognized) (?:local )?"
            r"(?:user|recipient|mailbox|address|account|addressee|alias|destination|e-?mail)",
            r"no mailbox",
            r"mailbox unavailable",
            r"not a valid (?:user|mailbox|recipient|address)",
            r"does not exist",
            r"doesn't exist",
            r"no such (?:user|person|mailbox)",
            r"not our customer",
            r"unknown or illegal alias",
            r"recipient no longer",
            r"doesn't have an? .{0,60}account",
            r"does not have an? .{0,60}account",
            r"no account",
            r"address (?:is )?(?:not|no longer) (?:in use|valid|available)",
            r"user (?:not|doesn't|does not) (?:exist|found|here|listed|known)",
            r"undeliverable address",
            r"invalid (?:recipient|address)",
            r"user doesn't",
            r"unrouteable",
        ),
    ),
    (
        "toomanyconn",
        (
            r"too many (?:connections|concurrent|simultaneous|sessions)",
            r"connection limit",
            r"too many smtp sessions",
            r"maximum (?:number of )?connections",
        ),
    ),
    (
        "speeding",
        (
            r"rate limit",
            r"too many (?:messages|emails|mails)",
            r"sending rate",
            r"(?:exceeded|exceeds) (?:the )?(?:rate|sending) limit",
            r"throttl",
            r"slow down",
            r"try (?:again )?later",
        ),
    ),
    (
        "policyviolation",
        (r"policy", r"prohibited", r"not (?:permitted|allowed) by", r"violat"),
    ),
    (
        "securityerror",
        (
            r"authentication (?:is )?required",
            r"must (?:first )?(?:authenticate|issue)",
            r"\bauth(?:entication)? (?:required|needed)",
            r"security",
            r"encryption required",
            r"unauthenticated senders? not allowed",
            r"delivery not authorized",
            r"certificate",
        ),
    ),
    (
        "notcompliantrfc",
        (
            # Not "rfc822;", the address type of a DSN field (RFC 3464 section 2.3.2).
            r"rfc ?(?:2822|5322|822|5321|2821)(?!;)",
            r"not (?:rfc )?complian",
            r"multiple "
            r"(?:from|date|to|subject|message-id) (?:headers|addresses)",
            r"duplicate header",
            r"malformed header",
            r"missing (?:required )?header",
            r"header .{0,30}(?:missing|invalid)",
        ),
    ),
    (
        "syntaxerror",
        (r"syntax error", r"command unrecognized", r"unrecognized command", r"bad sequence"),
    ),
    (
        "contenterror",
        (
            r"content (?:error|not accepted|rejected)",
            r"illegal (?:character|content)",
            r"media error",
            r"headers? too large",
            r"invalid (?:mime|character|content)",
            r"message (?:body|content|headers?) "
            r"(?:is )?(?:invalid|malformed)",
            r"8-?bit",
        ),
    ),
    (
        "systemfull",
        (
            r"(?:disk|system|file ?system|spool|queue) (?:is )?(?:full|out of space)",
            r"insufficient (?:system )?storage",
            r"out of (?:disk )?space",
            r"no space left",
        ),
    ),
    (
        "mailererror",
        (
            r"mailer error",
            r"command (?:failed|died|output)",
            r"program exited",
            r"\bpipe\b",
            r"procmail",
            r"x-unix",
            r"exit code",
            r"local delivery failed",
            r"unknown mailer",
        ),
    ),
    (
        "expired",
        (
            r"(?:retry|delivery) (?:time|timeout) (?:exceeded|expired)",
            r"timed? ?out",
            r"unable to connect",
            r"did not accept our requests to connect",
            r"message expired",
            r"(?:has|have) been delayed",
            r"(?:could|was|has) not (?:been )?delivered (?:for|after|"
            r"within)",
            r"queue ?(?:time|lifetime)? ?(?:too long|expired|exceeded)",
            r"giving up",
            r"given up",
            r"retry time",
            r"expired",
            r"too long in (?:the )?queue",
            r"undeliverable for",
            r"not yet been delivered",
            r"delivery (?:is )?delayed",
            r"deferred",
        ),
    ),
    (
        "networkerror",
        (
            r"connection (?:timed out|refused|reset|closed|lost)",
            r"network (?:is )?unreachable",
            r"no route to host",
            r"could not connect",
            r"wasn't able to establish",
            r"unable to connect",
            r"couldn't connect",
            r"too many hops",
            r"mail loop",
            r"loop(?:s)? (?:back|detected)",
            r"routing loop",
            r"hop count",
            r"lost connection",
            r"temporary failure in name",
            r"dns (?:lookup )?(?:failure|timeout)",
            r"name server",
        ),
    ),
    (
        "systemerror",
        (
            r"system (?:error|failure|problem|config)",
            r"internal (?:server )?error",
            r"local error",
            r"server (?:error|failure)",
            r"temporar(?:y|ily) (?:failure|"
            r"unavailable|error)",
            r"configuration error",
            r"misconfigur",
            r"i/o error",
            r"service (?:not )?(?:available|unavailable)",
            r"currently unavailable",
            r"transaction failed",
            r"unable to contact ldap",
            r"try again",
        ),
    ),
)

# Each group with the words one of which any of its matches contains (None: always try),
# then its alternatives, each compiled alone with its own required run (None: always try).
_COMPILED: tuple[
    tuple[str, tuple[str, ...] | None, tuple[tuple[re.Pattern[str], str | None], ...]], ...
] = tuple(
    (
        reason,
        group_keys(patterns),
        tuple((re.compile(part), key) for part, key in alternative_keys(patterns)),
    )
    for reason, patterns in _PATTERNS
)

# Postfix and others prefix every RCPT refusal with "Recipient address rejected:", whatever
# the cause, so these words name a user-unknown only when neither the rest of the reply
# nor the status names something else.
_WEAK_USER_UNKNOWN = re.compile(r"address rejected|\bunknown\b")

# RFC 3463 section 3: subject and detail codes that name one condition.
_STATUS_REASONS: dict[str, str] = {
    "1.1": "userunknown",
    "1.2": "hostunknown",
    "1.3": "userunknown",
    "1.4": "userunknown",
    "1.5": "userunknown",
    "1.6": "hasmoved",
    "1.7": "rejected",
    "1.8": "rejected",
    "1.10": "notaccept",
    "2.0": "userunknown",
    "2.1": "suspend",
    "2.2": "mailboxfull",
    "2.3": "exceedlimit",
    "2.4": "systemerror",
    "3.0": "systemerror",
    "3.1": "systemfull",
    "3.2": "systemerror",
    "3.3": "systemerror",
    "3.4": "mesgtoobig",
    "3.5": "systemerror",
    "4.0": "networkerror",
    "4.1": "networkerror",
    "4.2": "networkerror",
    "4.3": "systemerror",
    "4.4": "networkerror",
    "4.5": "networkerror",
    "4.6": "networkerror",
    "4.7": "expired",
    "5.0": "syntaxerror",
    "5.1": "syntaxerror",
    "5.2": "syntaxerror",
    "5.3": "exceedlimit",
    "5.4": "syntaxerror",
    "5.5": "syntaxerror",
    "6.0": "contenterror",
    "6.1": "contenterror",
    "6.2": "contenterror",
    "6.3": "contenterror",
    "6.4": "contenterror",
    "6.5": "contenterror",
    "7.0": "securityerror",
    "7.1": "blocked",
    "7.2": "systemerror",
    "7.3": "securityerror",
    "7.4": "securityerror",
    "7.5": "securityerror",
    "7.6": "securityerror",
    "7.7": "securityerror",
    "7.8": "securityerror",
    "7.9": "securityerror",
    "7.10": "securityerror",
    "7.11": "securityerror",
    "7.13": "suspend",
    "7.14": "securityerror",
    "7.15": "securityerror",
    "7.16": "securityerror",
    "7.17": "suspend",
    "7.18": "suspend",
    "7.20": "authfailure",
    "7.21": "authfailure",
    "7.22": "authfailure",
    "7.23": "authfailure",
    "7.24": "authfailure",
    "7.25": "requireptr",
    "7.26": "authfailure",
    "7.27": "notaccept",
    "7.28": "spamdetected",
    "7.29": "authfailure",
    "7.30": "securityerror",
}

# Reasons that name the recipient's address as wrong for good (Sisimai's hard bounces).
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})
# Reasons read from the status or reply code alone are only as precise as the code.
STATUS_PATTERN = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
REPLY_PATTERN = re.compile(r"(?<![\d.\-/:])([245][0-5]\d)(?=[ \-]|$)")


def reason_from_text(text: str) -> str:
    """Return the reason that the server's words name, or ``""``."""
    lowered = " ".join(text.lower().split())
    if not lowered:
        return ""
    # map() with the bound method runs the substring tests without a Python frame each.
    contains = lowered.__contains__
    for reason, keys, group in _COMPILED:
        if keys is not None and not any(map(contains, keys)):
            continue
        for pattern, key in group:
            if (key is None or key in lowered) and pattern.search(lowered):
                return reason
    return ""


# Detail codes precise enough to beat the looser words of a report's boilerplate.
_STRONG_DETAILS = frozenset(
    {"1.1", "1.2", "1.6", "1.10", "2.2", "2.3", "3.4", "4.7", "7.25", "7.26", "7.27"}
)


def _status_unless_generic(status: str) -> str:
    # X.0.0 gives only "permanent" or "temporary", so a weak sentence tells more.
    return "" if status.endswith(".0.0") else reason_from_status(status)


def strong_reason_from_status(status: str) -> str:
    """Return the reason of a status whose detail code names one condition, or ``""``."""
    _, _, detail = status.partition(".")
    return _STATUS_REASONS[detail] if detail in _STRONG_DETAILS else ""


def reason_from_status(status: str) -> str:
    """Return the reason an RFC 3463 status names by its subject and detail, or ``""``."""
    _, _, detail = status.partition(".")
    return _STATUS_REASONS.get(detail, "")


def class_of(reason: str, status: str, reply_code: str) -> BounceClass:
    """Return the class Sisimai gives ``reason``: hard only for a lasting address fault."""
    if reason in HARD_REASONS:
        return BounceClass.HARD
    if reason == "notaccept":
        permanent = (status or reply_code or "5").startswith("5")
        return BounceClass.HARD if permanent else BounceClass.SOFT
    if reason == "feedback":
        return BounceClass.COMPLAINT
    if reason == "vacation":
        return BounceClass.AUTOREPLY
    if reason == "delivered":
        return BounceClass.DELIVERED
    if reason in ("onhold", "undefined", ""):
        return BounceClass.UNKNOWN
    return BounceClass.SOFT


# RFC 5321 commands as reports name them: "in reply to end of DATA command" (Postfix),
# "after RCPT TO" (Exim), "SMTP command DATA"; and sendmail-style transcripts where
# the command line ">>> DATA" is followed by the refusing "<<< 550" reply.
_COMMAND_PHRASE = re.compile(
    r"(?:in reply to|after|while sending|smtp command\W{0,10}|command\s*:)\s*"
    r"(?:end of\s+)?(mail from|rcpt to|data|mail|rcpt)\b"
)
_RCPT_HINT = re.compile(r"\[rcpt_to\]|recipient address rejected")
_TRANSCRIPT = re.compile(r"(?m)^>>>\s*(mail|rcpt|data)\b[^\n]*\n(?:[^\n]*\n)?<<<\s*[45]\d\d")


def smtp_command(text: str) -> str:
    """Return the SMTP command the refusal answered (``MAIL``, ``RCPT``, ``DATA``), or ``""``."""
    # Matched on lower-cased text: a case-insensitive search costs about twice as much.
    text = text.lower()
    match = _COMMAND_PHRASE.search(text) or _TRANSCRIPT.search(text)
    if match:
        return match.group(1).split(" ")[0].upper()
    # Yahoo tags the refusal "[RCPT_TO]"; Postfix words every RCPT refusal the same way.
    return "RCPT" if _RCPT_HINT.search(text) else ""


# La Poste's code LPN007_416 gives the same reason in French and English.
_NO_ACCOUNT = re.compile(r"doesn't have an? \S+ account|adresse destinataire invalide")


# Exim's words for a reply to the connection itself, before any command.
_AT_GREETING = re.compile(r"(?i)\bafter initial connection\b")

# An IPv4 address in the reply after its code, or Cox's code for its IP block list.
_CLIENT_BLOCK = re.compile(r"\b[45]\d\d\b.{0,200}\b(?:\d{1,3}\.){3}\d{1,3}\b|\baup#cdrbl\b")


# Causes that a delay report names and that stay the cause when the message expires.
_DELAY_CAUSES = frozenset({"notaccept", "mailboxfull", "networkerror"})


def weak_reason_from_text(text: str) -> str:
    """Return ``userunknown`` for the generic refusal words that only hint at it, or ``""``."""
    return "userunknown" if _WEAK_USER_UNKNOWN.search(text.lower()) else ""


def decide_reason(
    diagnostic: str, context: str, status: str, action: str, diagnostic_type: str = ""
) -> str:
    """Pick the reason from the server's reply, a precise status, then the surrounding report."""
    if action == "delayed":
        # A delay is an expiry in the making, unless the reply names a lasting cause.
        named = reason_from_text(diagnostic or context)
        return named if named in _DELAY_CAUSES else "expired"
    if diagnostic_type == "x-unix":
        # Sendmail writes the X-Unix type with the exit status of a local delivery program.
        return "mailererror"
    strong = strong_reason_from_status(status)
    reason = reason_from_text(diagnostic)
    # X.1.2 and X.1.6 name the fault more precisely than an unknown-user sentence.
    if reason == "userunknown" and strong in ("hostunknown", "hasmoved"):
        reason = strong
    reason = (
        reason
        or strong
        or reason_from_text(context)
        or _status_unless_generic(status)
        or weak_reason_from_text(diagnostic + "\n" + context)
        or reason_from_status(status)
        or "onhold"
    )
    command = smtp_command(diagnostic + "\n" + context)
    temporary = status.startswith("4")
    detail = status.partition(".")[2]

    # A refusal in the greeting refuses the client's connection (RFC 5321 section 3.1),
    # whatever the words give as the cause: a missing PTR record, a quota of the relay.
    if _AT_GREETING.search(diagnostic) or _AT_GREETING.search(context):
        return "blocked"
    # RFC 3463 X.2.3 is the recipient's own size limit, X.3.4 the system's.
    if reason == "mesgtoobig" and detail == "2.3":
        return "exceedlimit"
    # A recipient refused after DATA was refused for the content, not the address,
    # unless the server gave the precise X.1.1 "bad destination mailbox" status.
    # Yahoo checks recipients only at the end of DATA, in words that name the account.
    if (
        reason == "userunknown"
        and command == "DATA"
        and detail != "1.1"
        and not _NO_ACCOUNT.search(diagnostic.lower())
    ):
        return "filtered"
    if reason in ("userunknown", "hostunknown", "onhold") and command == "MAIL":
        return "rejected"
    # A block at MAIL FROM concerns the sender, unless the reply names the client's IP
    # address or a block-list code for it: then the connection, not the sender, is refused.
    if reason == "blocked" and command == "MAIL" and not _CLIENT_BLOCK.search(diagnostic.lower()):
        return "rejected"
    # RFC 3463 X.2.0 and X.2.1 concern the mailbox, not the address: a user-unknown
    # sentence with them, outside the RCPT step, is a filter of the recipient's.
    if reason == "userunknown" and detail in ("2.0", "2.1") and command != "RCPT":
        return "filtered"
    # A DNS failure that the reporting MTA would retry is not a lasting hostunknown.
    if reason == "hostunknown" and temporary:
        return "networkerror"
    return reason
