"""Suppression entries (by blind index only) and the screening of recipient lists."""
