"""ESP webhook payloads: parse them into verdicts and verify their signatures."""

from suppression.bounces.webhooks.common import SignatureError, WebhookEvent, WebhookFormatError

__all__ = ["SignatureError", "WebhookEvent", "WebhookFormatError"]
