"""The doors' toolkit: what pages, the API, the CLI and jobs share around the services.

- ``params``: typed parsing of request arguments, JSON bodies and command-line values, with one
  plain Chinese ``Invalid(field)`` sentence per mistake;
- ``converters``: the ``<id:…>`` and ``<year:…>`` URL converters, registered once;
- ``work``: the unit of work (commit on success, roll back on a ``DomainError``) and the form POST
  built on it;
- ``pages``: sign-in loading, guards, error pages, security headers and template globals.

Nothing here imports a domain package at import time except ``pages``, so domain modules may use
``params`` and ``work``.
"""
