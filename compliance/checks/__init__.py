"""Pure pre-send checks: domain authentication in DNS, unsubscribe links and headers,
postal address in the footer. Nothing here reads or writes a database.

The entry points are :func:`compliance.checks.report.run_message_check`,
:func:`compliance.checks.report.run_parts_check` and
:func:`compliance.checks.report.render_text`.
"""
