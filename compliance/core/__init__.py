"""The shared kernel: settings, database, crypto, i18n, errors, audit and outbox.

Nothing here imports a domain package (consent, suppression, dsr).
"""
