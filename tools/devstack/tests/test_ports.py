"""The stack's servers listen on ports outside the kernel's range for client sockets, which any
outgoing connection may take between two runs of ``crm up``."""

from __future__ import annotations

import socket

import pytest

from crm_devstack import processes
from crm_devstack.processes import LISTENING_PORTS_FROM, ephemeral_ports, free_port


def test_a_free_port_lies_below_the_client_sockets_range_and_can_be_listened_on() -> None:
    port = free_port()
    assert LISTENING_PORTS_FROM <= port < ephemeral_ports().start
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", port))
        server.listen()


def test_a_port_in_use_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        in_use = taken.getsockname()[1]
        free = free_port()
        monkeypatch.setattr(processes.random, "sample", lambda _range, _k: [in_use, free])
        assert free_port() == free


def test_without_room_below_that_range_the_kernel_picks(monkeypatch: pytest.MonkeyPatch) -> None:
    kernels = ephemeral_ports()
    no_room = range(LISTENING_PORTS_FROM + 10, kernels.stop)
    monkeypatch.setattr(processes, "ephemeral_ports", lambda: no_room)
    assert free_port() in kernels
