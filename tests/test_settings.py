from pathlib import Path

import pytest

from m3rec.errors import ConfigError
from m3rec.settings import load_settings


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m3rec.toml"
    path.write_text(text)
    return path


def test_defaults_use_the_local_backend_and_default_model() -> None:
    settings = load_settings()
    assert settings.llm.backend == "llamacpp"
    assert settings.llm.model == "qwen2.5-1.5b"
    assert settings.openai.api_key is None


def test_precedence_is_defaults_then_file_then_env_then_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(
        tmp_path,
        '[llm]\nbackend = "openai"\nmax_tokens = 100\nn_ctx = 2048\n'
        '[openai]\nbase_url = "http://file:1/v1"\nmodel = "from-file"\n',
    )
    monkeypatch.setenv("M3REC_LLM__MAX_TOKENS", "200")
    monkeypatch.setenv("M3REC_OPENAI__MODEL", "from-env")
    settings = load_settings(config, {"openai": {"model": "from-flag"}})
    assert settings.llm.backend == "openai"  # file over default
    assert settings.llm.n_ctx == 2048  # file over default
    assert settings.llm.max_tokens == 200  # env over file
    assert settings.openai.base_url == "http://file:1/v1"
    assert settings.openai.model == "from-flag"  # flag over env


def test_the_default_config_file_is_read_from_xdg_config_home(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "m3rec"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text('[llm]\nmodel = "qwen2.5-0.5b"\n')
    assert load_settings().llm.model == "qwen2.5-0.5b"


def test_none_flags_do_not_override_lower_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("M3REC_LLM__MODEL", "smollm2-135m")
    settings = load_settings(None, {"llm": {"model": None, "backend": None}})
    assert settings.llm.model == "smollm2-135m"


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[llm\nbackend = ")
    with pytest.raises(ConfigError, match=r"m3rec.toml is not valid TOML"):
        load_settings(config)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[llm]\nbakend = "openai"\n')
    with pytest.raises(ConfigError, match=r"unknown setting 'llm.bakend'"):
        load_settings(config)


def test_unknown_backend_names_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("M3REC_LLM__BACKEND", "ollama-direct")
    with pytest.raises(
        ConfigError, match=r"llm.backend.*'llamacpp' or 'openai'.*M3REC_LLM__BACKEND"
    ):
        load_settings()


def test_missing_named_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_api_key_falls_back_to_openai_api_key_and_is_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    settings = load_settings()
    assert settings.openai_api_key() == "sk-from-env"
    flagged = load_settings(None, {"openai": {"api_key": "sk-flag"}})
    assert flagged.openai_api_key() == "sk-flag"
    assert "sk-flag" not in repr(flagged)
    assert "sk-flag" not in flagged.model_dump_json()
