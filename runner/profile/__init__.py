"""`midicenter profile`: the read-only health report.

``report.run`` builds the report as a JSON-ready dict (schema in ``schema.json``), ``markdown.render``
turns it into Markdown; ``calls`` explains the canonical API calls, ``loadtest`` runs concurrent clients,
``tuning`` recommends settings for this machine, and ``readonly`` makes the connections that cannot write.
"""
