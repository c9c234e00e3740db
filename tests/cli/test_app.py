"""The app as a whole: --version, --help that explains every option, fast help, module entry."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.metadata import version

import click
import pytest
import typer
from typer.testing import CliRunner

from m3rec.cli import app

runner = CliRunner()
HEAVY = ("torch", "chromadb", "langgraph", "llama_cpp", "sentence_transformers", "m3rec.encoders")


def commands() -> list[tuple[str, click.Command]]:
    """Return every (sub)command of the app by its full name, e.g. 'models pull'."""
    found: list[tuple[str, click.Command]] = []

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")
            else:
                found.append((f"{prefix}{name}", command))

    walk(typer.main.get_group(app), "")
    return found


def test_version_prints_the_installed_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"m3rec {version('m3rec')}"


def test_every_command_is_listed_with_a_whole_sentence() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    names = {name.split()[0] for name, _ in commands()}
    assert names == {
        "doctor",
        "demo",
        "profile",
        "traits",
        "train",
        "evaluate",
        "recommend",
        "explain",
        "chat",
    } | {
        "models",
        "profiles",
    }
    listed = result.stdout.split("Commands:")[1]
    for name in names:
        assert f"  {name} " in listed
    assert "..." not in listed  # no summary cut short


@pytest.mark.parametrize("name", [name for name, _ in commands()])
def test_every_option_is_explained_and_no_flag_is_tagged_bool(name: str) -> None:
    result = runner.invoke(app, [*name.split(), "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout
    command = dict(commands())[name]
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts[0]} has no help"
            assert param.opts[-1] in result.stdout or param.opts[0] in result.stdout


def test_evaluate_help_names_every_model_at_80_columns() -> None:
    result = runner.invoke(app, ["evaluate", "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    for model in ("pop", "itemknn", "bprmf", "sasrec", "lightgcn", "textsim", "mote"):
        assert model in result.stdout


def test_help_reflows_descriptions_instead_of_breaking_them() -> None:
    for name, _ in commands():
        result = runner.invoke(app, [*name.split(), "--help"], env={"COLUMNS": "80"})
        description = result.stdout.split("Options")[0]
        for paragraph in re.split(r"\n\s*\n", description)[1:]:
            lines = [line.strip(" │") for line in paragraph.splitlines() if line.strip()]
            for line in lines[:-1]:  # only a paragraph's last line may be short
                assert len(line) > 60, f"{name}: {line!r}"


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["train", "--help"],
        ["evaluate", "--models", "magic"],
        ["train", "--epochs", "0"],
    ],
)
def test_help_and_option_errors_import_no_heavy_module(args: list[str]) -> None:
    code = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from m3rec.cli import app\n"
        f"CliRunner().invoke(app, {args!r})\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


@pytest.mark.parametrize("module", ["m3rec", "m3rec.cli"])
def test_every_command_registers_when_run_as_a_module(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    for command in ("doctor", "demo", "profile", "traits", "evaluate", "train", "recommend"):
        assert command in done.stdout
