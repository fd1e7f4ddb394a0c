"""Contacts, the consent ledger, double opt-in and the subscriber pages."""
