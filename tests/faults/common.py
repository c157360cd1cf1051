"""Helpers for the fault tests: the environment that points the binary at a fault server."""

TIMEOUT_MS = "8000"  # generous: fault tests count requests, they do not race the deadline


def fault_env(h, server, refs, names=(), **extra):
    """The binary's environment against `server` (for Secrets Manager and SSM alike): debug log
    (the most output to check for leaks) and an 8 s deadline unless the test says otherwise."""
    extra.setdefault("LAMBDA_SECRETS_TIMEOUT_MS", TIMEOUT_MS)
    extra.setdefault("LAMBDA_SECRETS_LOG", "debug")
    extra.setdefault("AWS_ENDPOINT_URL_SSM", server.url)
    return h.env(refs, names=names, AWS_ENDPOINT_URL_SECRETS_MANAGER=server.url, **extra)


def refs_for(vals, var="V"):
    """{V0: name0, V1: name1, ...} in the order of `vals`."""
    return {f"{var}{i}": name for i, name in enumerate(vals)}
