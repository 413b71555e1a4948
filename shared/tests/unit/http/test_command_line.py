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


@pytest.mark.parametrize(("setting", "logged"), [(None, False), ("true", True), ("false", False)])
def test_a_line_per_request_is_logged_only_when_the_access_log_setting_asks(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, logged: bool
) -> None:
    if setting is None:
        monkeypatch.delenv("CRM_ACCESS_LOG", raising=False)
    else:
        monkeypatch.setenv("CRM_ACCESS_LOG", setting)
    options: dict[str, object] = {}
    monkeypatch.setattr(serving.uvicorn, "run", lambda app, **kwargs: options.update(kwargs))
    serving.serve("crm_contacts.entrypoints.main:create_app", "127.0.0.1", 8000)
    assert options["access_log"] is logged
    assert options["log_config"] is None  # the platform's JSON logging, not uvicorn's
