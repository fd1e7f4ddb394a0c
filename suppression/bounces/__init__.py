"""Bounce, complaint and reply classification, ESP webhooks and the ingestion policy.

``classify(raw)`` reads one raw message and returns a :class:`Verdict` per
affected recipient, with Sisimai's reason vocabulary.
"""

from suppression.bounces.classifier import classify
from suppression.bounces.verdict import BounceClass, Source, Verdict

__all__ = ["BounceClass", "Source", "Verdict", "classify"]
