"""Fixtures for the fault tests: the fault-injecting Secrets Manager and Parameter Store
(support/faultsm.py) over HTTPS with the session's test CA (or plain HTTP), and values for it.

Every value a fault server serves is a sentinel of the session registry (`values`), so the Runner's
check of every run's stdout and stderr covers every fault path, at the debug log level by default
(common.fault_env).
"""

import pytest

from support.faultsm import FaultServer


@pytest.fixture
def fsm(pki):
    """`fsm(secrets, parameters=None, tls=True, quotas=None, seed=0, page_size=10)` -> a started
    FaultServer, stopped after."""
    servers = []

    def make(secrets, parameters=None, tls=True, quotas=None, seed=0, page_size=10):
        server = FaultServer(secrets, parameters, pki=pki if tls else None, quotas=quotas, seed=seed,
                             page_size=page_size)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def values(h):
    """`values(n, prefix)` -> {name: sentinel} for n secrets named fault/<prefix><i>."""
    def make(n, prefix="s"):
        return {f"fault/{prefix}{i}": h.sentinel() for i in range(n)}
    return make
