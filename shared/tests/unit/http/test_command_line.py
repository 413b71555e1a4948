"""``crm-<service> [serve|migrate]``: serving is the default, migrate only migrates, anything
else is refused with the usage."""

from __future__ import annotations

import pytest

from crm_shared.http import serving
from crm_shared.http.serving import run_service
from crm_shared.settings import PlatformSettings


def test_serve_is_the_default_and_migrate_only_migrates(monkeypatch: pytest.MonkeyPatch) -> None:
    # the process-wide logging and tracing set-up stays out of the test session
    monkeypatch.setattr(serving, "platform_with_telemetry", lambda _: PlatformSettings())
    ran: list[str] = []

    async def migrate(platform: PlatformSettings) -> None:
        ran.append("migrate")

    run_service("contacts", lambda: ran.append("serve"), migrate, [])
    run_service("contacts", lambda: ran.append("serve"), migrate, ["migrate"])
    assert ran == ["serve", "migrate"]


def test_an_unknown_command_is_refused_with_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    async def migrate(platform: PlatformSettings) -> None:
        raise AssertionError("must not run")

    with pytest.raises(SystemExit) as exited:
        run_service("contacts", lambda: None, migrate, ["migrat"])
    assert exited.value.code == 2
    assert "invalid choice: 'migrat'" in capsys.readouterr().err
