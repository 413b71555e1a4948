"""Published schemas guard the registry: additive changes pass, breaking ones fail, none vanish.

``published/`` is a fixture directory of schemas "already published" for a demo service.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crm_shared.events.schemas import check_registry_against_published, main, unpublished

from . import widgets

FIXTURE = Path(__file__).parent / "published"
CREATED = "crm.demo.widget.created"


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A writable copy of the fixture directory."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "published"))


def target(name: str) -> str:
    return f"{widgets.__name__}:{name}"


class TestChecking:
    def test_the_published_registry_is_compatible_with_itself(self) -> None:
        assert check_registry_against_published(widgets.PUBLISHED, FIXTURE) == []

    def test_an_additive_change_of_a_registered_contract_passes(self) -> None:
        assert check_registry_against_published(widgets.ADDITIVE, FIXTURE) == []

    def test_a_breaking_change_of_a_registered_contract_fails(self) -> None:
        assert check_registry_against_published(widgets.BREAKING, FIXTURE) == [
            f"{CREATED} v1: $.name: type changed from string to integer",
            f"{CREATED} v1: $.size: removed",
        ]

    def test_a_breaking_change_as_a_new_version_with_an_upcaster_passes(self) -> None:
        assert check_registry_against_published(widgets.NEW_VERSION, FIXTURE) == []
        assert unpublished(widgets.NEW_VERSION, FIXTURE) == [f"{CREATED} v2"]

    def test_a_published_version_may_never_disappear(self) -> None:
        assert check_registry_against_published(widgets.DISCARDED_DROPPED, FIXTURE) == [
            "crm.demo.widget.discarded v1: published, but no longer registered"
        ]

    def test_other_services_files_can_be_left_out(self, published: Path) -> None:
        other = published / "crm.sales.deal.won" / "v1.json"
        other.parent.mkdir()
        other.write_text('{"type": "object"}\n')
        assert check_registry_against_published(widgets.PUBLISHED, published) == [
            "crm.sales.deal.won v1: published, but no longer registered"
        ]
        assert check_registry_against_published(widgets.PUBLISHED, published, {"demo"}) == []

    def test_a_misplaced_file_is_reported(self, published: Path) -> None:
        (published / CREATED / "latest.json").write_text("{}\n")
        [problem] = check_registry_against_published(widgets.PUBLISHED, published)
        assert problem.endswith("latest.json: not <event type>/v<N>.json")

    def test_a_file_that_is_not_a_json_object_is_reported(self, published: Path) -> None:
        (published / CREATED / "v1.json").write_text("[]\n")
        [problem] = check_registry_against_published(widgets.PUBLISHED, published)
        assert problem.startswith(f"{CREATED} v1:")
        assert "not a JSON Schema object" in problem


class TestCommandLine:
    def test_check_passes_an_additive_change(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["check", target("ADDITIVE"), str(FIXTURE)]) == 0
        assert capsys.readouterr().out == "compatible\n"

    def test_check_names_each_problem_and_fails(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["check", target("BREAKING"), str(FIXTURE)]) == 1
        assert f"{CREATED} v1: $.size: removed" in capsys.readouterr().out.splitlines()

    def test_check_mentions_versions_not_yet_published(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["check", target("NEW_VERSION"), str(FIXTURE)]) == 0
        assert f"not yet published: {CREATED} v2" in capsys.readouterr().out

    def test_write_publishes_an_additive_change(self, published: Path) -> None:
        assert main(["write", target("ADDITIVE"), str(published)]) == 0
        schema = json.loads((published / CREATED / "v1.json").read_text())
        assert "colour" in schema["properties"]

    def test_write_refuses_a_breaking_change_and_writes_nothing(
        self, published: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        before = (published / CREATED / "v1.json").read_text()
        assert main(["write", target("BREAKING"), str(published)]) == 1
        assert (published / CREATED / "v1.json").read_text() == before
        assert "refusing to write" in capsys.readouterr().err

    def test_write_publishes_a_new_version_beside_the_old_one(self, published: Path) -> None:
        assert main(["write", target("NEW_VERSION"), str(published)]) == 0
        assert (published / CREATED / "v1.json").read_text() == (
            FIXTURE / CREATED / "v1.json"
        ).read_text()
        assert json.loads((published / CREATED / "v2.json").read_text())["$id"] == (
            f"urn:crm:schema:{CREATED}:v2"
        )

    @pytest.mark.parametrize("name", ["NOT_A_REGISTRY", "MISSING"])
    def test_a_target_that_is_no_registry_is_a_usage_error(
        self, name: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["check", target(name), str(FIXTURE)]) == 2
        assert target(name) in capsys.readouterr().err

    def test_it_runs_as_a_module(self) -> None:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "crm_shared.events.schemas",
                "check",
                "widgets:BREAKING",
                str(FIXTURE),
            ],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 1, result.stderr
        assert f"{CREATED} v1: $.size: removed" in result.stdout
