"""The backend tests' reference processes: one ``_support.Server`` per backend, shared by this worker's modules."""

import pytest

from tests.backends._support import Server


@pytest.fixture(scope="session")
def servers():
    """``servers(backend)``: this worker's ``Server`` on ``backend``, started on first use, closed at the end."""
    started = {}

    def get(backend):
        if backend not in started:
            started[backend] = Server(backend)
        return started[backend]

    yield get
    for server in started.values():
        server.close()
