"""HTTPS for the emulator: a server TLS context from certificate files.

The emulator serves HTTPS when it is given a certificate (``--tls-cert``/``--tls-key`` on the
command line, ``tls_cert=``/``tls_key=`` or a ready ``ssl_context=`` from Python). Nothing is
generated or shipped here: tests make throw-away certificates, users bring their own.
"""

from __future__ import annotations

import ssl


def server_context(cert_file: str, key_file: str | None = None) -> ssl.SSLContext:
    """A server-side TLS context from a PEM certificate chain and its key (``key_file`` may be in the chain file)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as err:
        key = f" with key {key_file}" if key_file else ""
        raise ValueError(f"cannot load the TLS certificate {cert_file}{key}: {err}") from err
    return context


def context_from(
    ssl_context: ssl.SSLContext | None, tls_cert: str | None, tls_key: str | None
) -> ssl.SSLContext | None:
    """The one TLS context the arguments ask for, or None for plain HTTP."""
    if tls_key is not None and tls_cert is None:
        raise TypeError("tls_key needs tls_cert")
    if ssl_context is not None and tls_cert is not None:
        raise TypeError("pass ssl_context or tls_cert/tls_key, not both")
    if tls_cert is not None:
        return server_context(tls_cert, tls_key)
    return ssl_context
