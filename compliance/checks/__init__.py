"""Pure pre-send checks: domain authentication in DNS, unsubscribe links and headers,
postal address in the footer. Nothing here reads or writes a database.

The message checks are :func:`compliance.checks.report.run_message_check`,
:func:`compliance.checks.report.run_parts_check` and
:func:`compliance.checks.report.render_text`.

The DNS authentication check of a sending domain is
:func:`compliance.checks.domain_report.check_domain` (``run_domain_check``
for synchronous callers), with options from
:func:`compliance.checks.domain_options.build_options`. The SPF evaluator
of RFC 7208 is :func:`compliance.checks.spf_eval.check_host`. Both take a
:class:`compliance.checks.resolver.DnsResolver`, built for any nameserver
and port with ``DnsResolver.from_nameservers(["127.0.0.1:5353"])``, or a
:class:`compliance.checks.zone_source.ZoneSource` that answers from a zone
file.
"""
