"""Every error a user can cause ends in one line on stderr and exit code 1."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from m3rec.cli import app
from tests.conftest import FIXTURES, REAL_MODEL_DIR, LlamaServer, free_port
from tests.llm.wire import http_server

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env=env)


def assert_one_line_error(result, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_models_list_json_shows_the_registry() -> None:
    result = run("models", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"qwen2.5-1.5b", "qwen2.5-0.5b", "smollm2-135m"}
    assert rows["qwen2.5-1.5b"]["default"] is True
    assert rows["smollm2-135m"]["state"] == "verified"


def test_an_unknown_backend_names_the_flag_and_no_missing_config_file() -> None:
    result = run("doctor", "--backend", "gpt4all")
    assert_one_line_error(result, "--backend 'gpt4all'", "'llamacpp' or 'openai'")
    assert "config" not in result.stderr and "M3REC_" not in result.stderr


def test_unknown_model_name() -> None:
    assert_one_line_error(run("doctor", "--model", "llama-70b"), "unknown model 'llama-70b'")
    assert_one_line_error(run("models", "pull", "llama-70b"), "unknown model 'llama-70b'")


def test_model_not_downloaded(tmp_path: Path) -> None:
    env = {"M3REC_PATHS__MODEL_DIR": str(tmp_path)}
    assert_one_line_error(
        run("doctor", "--model", "qwen2.5-0.5b", env=env),
        "not downloaded",
        "m3rec models pull qwen2.5-0.5b",
    )


def test_corrupt_gguf_is_refused(smollm2_path: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "smollm2-135m-instruct-q4_1.gguf"
    shutil.copyfile(smollm2_path, corrupt)
    with corrupt.open("r+b") as fh:
        fh.seek(1_000_000)
        fh.write(b"garbage!")
    env = {"M3REC_PATHS__MODEL_DIR": str(tmp_path)}
    assert_one_line_error(run("doctor", "--model", "smollm2-135m", env=env), "corrupt", "--force")
    assert_one_line_error(run("models", "verify", "smollm2-135m", env=env), "corrupt")


def test_truncated_gguf_given_by_path_is_refused(smollm2_path: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "mine.gguf"
    truncated.write_bytes(smollm2_path.read_bytes()[:200_000])
    assert_one_line_error(run("doctor", "--model", str(truncated)), "could not load", "mine.gguf")


def test_unwritable_cache_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = {"M3REC_PATHS__MODEL_DIR": str(blocker / "models")}
    assert_one_line_error(run("models", "pull", "smollm2-135m", env=env), "not writable")


def test_invalid_config_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[llm\n")
    assert_one_line_error(run("doctor", "--config", str(config)), "bad.toml is not valid TOML")
    config.write_text('[llm]\ntemperature = "hot"\n')
    assert_one_line_error(run("doctor", "--config", str(config)), "llm.temperature")


def test_unreachable_server() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    assert_one_line_error(
        run("doctor", "--backend", "openai", "--base-url", url), "cannot connect", url
    )


def test_server_that_returns_non_json() -> None:
    with http_server(200, b"<html>It works!</html>", "text/html") as url:
        assert_one_line_error(run("demo", "--backend", "openai", "--base-url", url), url)


def test_timeout_never_hangs() -> None:
    with http_server(200, b"{}", "application/json", delay_s=5.0) as url:
        env = {"M3REC_OPENAI__TIMEOUT_S": "0.5", "M3REC_OPENAI__MAX_RETRIES": "0"}
        assert_one_line_error(
            run("doctor", "--backend", "openai", "--base-url", url, env=env), "within 0.5s"
        )


@pytest.mark.llm
def test_wrong_api_key_is_reported_and_never_printed(keyed_llama_server: LlamaServer) -> None:
    secret = "sk-wrong-0123456789"
    result = run(
        "doctor",
        "--backend",
        "openai",
        "--base-url",
        keyed_llama_server.base_url,
        "--api-key",
        secret,
        "--json",
    )
    assert result.exit_code == 1
    assert secret not in result.output
    assert "refused the API key" in json.loads(result.stdout)["round_trip"]["error"]


@pytest.mark.llm
def test_doctor_passes_on_the_local_tiny_model() -> None:
    result = run("doctor", "--model", "smollm2-135m", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["round_trip"]["ok"] is True
    assert report["model"]["state"] == "verified"
    assert report["device"]["cpu_cores"] >= 1
    assert report["round_trip"]["backend"]["model_path"].startswith(str(REAL_MODEL_DIR))


@pytest.mark.llm
def test_doctor_passes_against_a_real_openai_compatible_server(llama_server: LlamaServer) -> None:
    result = run("doctor", "--backend", "openai", "--base-url", llama_server.base_url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["round_trip"]["backend"]["backend"] == "openai"


SLICE = FIXTURES / "data" / "ml-latest-slice"


def test_a_store_that_is_a_file_names_the_store_flag(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    result = run("traits", "--data", str(SLICE), "--store", str(afile))
    assert_one_line_error(result, str(afile), "--store")
    assert "M3REC_" not in result.stderr


def test_an_unknown_user_names_the_user_flag(tmp_path: Path) -> None:
    result = run("profile", "--data", str(SLICE), "--user", "nobody", "--store", str(tmp_path))
    assert_one_line_error(result, "user 'nobody'", "--user")
    assert "--users" not in result.stderr


def test_a_cold_start_cut_needs_a_stage(tmp_path: Path) -> None:
    result = run("profile", "--user", "1", "--cold-k", "2", "--store", str(tmp_path))
    assert_one_line_error(result, "--cold-k", "--stage")
