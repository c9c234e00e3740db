"""One typed settings object: defaults < config file < environment (M3REC_) < command-line flags."""

from __future__ import annotations

import contextvars
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from m3rec.errors import ConfigError

Backend = Literal["llamacpp", "openai"]
StructuredMode = Literal["auto", "json_schema", "json_object", "tool", "text"]

_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "m3rec_config_file", default=None
)


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "m3rec"


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "m3rec"


def default_config_path() -> Path:
    """Return the default config file: $M3REC_CONFIG or ~/.config/m3rec/config.toml."""
    if env := os.environ.get("M3REC_CONFIG"):
        return Path(env)
    config_home = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config_home) / "m3rec" / "config.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMSettings(_Section):
    """Which LLM answers, and how it generates."""

    backend: Backend = "llamacpp"
    model: str = Field(
        "qwen2.5-1.5b",
        description="llamacpp: a registry name (m3rec models list) or a path to a .gguf file",
    )
    n_threads: int | None = Field(
        None, ge=1, description="CPU threads; default: the cores not already busy (load average)"
    )
    n_gpu_layers: int = Field(0, ge=-1, description="layers offloaded to the GPU; -1 = all")
    n_ctx: int = Field(4096, ge=256)
    max_tokens: int = Field(512, ge=1)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    seed: int = 0
    prompt_cache_mb: int = Field(
        0,
        ge=0,
        description="llamacpp: keep the model's state after each call (up to this many MB) so a "
        "later prompt with the same beginning reads only the rest; the numbers differ in their "
        "last bits from reading it all, and so can the replies, so it is off (0) but in "
        "`m3rec chat`",
    )


class OpenAISettings(_Section):
    """An OpenAI-compatible server: OpenAI, vLLM, llama.cpp's server, Ollama."""

    base_url: str = "http://127.0.0.1:8000/v1"
    api_key: SecretStr | None = Field(None, description="falls back to $OPENAI_API_KEY")
    model: str = Field("default", description="the model name the server expects")
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(
        2, ge=0, le=10, description="retries of a timeout, HTTP 429 or 5xx, with backoff"
    )
    structured_mode: StructuredMode = "auto"
    concurrency: int = Field(
        1,
        ge=1,
        le=64,
        description="requests in flight at once in a profile batch: the server's parallel "
        "slots, or the replicas behind one URL (`profile --concurrency` overrides it)",
    )


class PathSettings(_Section):
    """Where m3rec keeps models, caches and stores."""

    model_dir: Path = Field(default_factory=lambda: _cache_home() / "models")
    cache_dir: Path = Field(
        default_factory=_cache_home, description="embedding cache (under embeddings/)"
    )
    chat_db: Path = Field(
        default_factory=lambda: _data_home() / "chat.sqlite",
        description="the SQLite database `m3rec chat` keeps its threads in",
    )
    chat_history: Path = Field(
        default_factory=lambda: _data_home() / "chat_history",
        description="what was typed to `m3rec chat`, for the Up arrow and Ctrl-R",
    )

    @property
    def embeddings_dir(self) -> Path:
        """Return the folder of the on-disk embedding cache."""
        return self.cache_dir / "embeddings"


# One torch thread unless asked for more. Weights depend on the thread count (work and sums are
# split by thread), so the default is a fixed number, not the cores or their load: the same
# command gives the same weights whatever the core count, cpuset or load, and the BENCHMARKS
# figures were measured at 1. One thread is also the fastest on shared cores (OpenMP threads
# that cannot all run spin: SASRec's test took 6 s on 1 thread, 67 s on 2 with a core busy); on
# 2 idle cores, 2 threads train MOTE about 1.35x faster (22 s against 29 s an ML-1M epoch).
TORCH_THREADS = 1
# MOTE's defaults that `m3rec train` shows too, chosen on Beauty and ML-1M validation users
# (BENCHMARKS.md, "Accuracy: MOTE's negatives and width").
MOTE_DIM = 128
MOTE_BATCH_SIZE = 1024
MOTE_EPOCHS = 30
MOTE_NEGATIVES = 4096


class TorchSettings(_Section):
    """How torch trains and scores; results depend on these, so every run records them."""

    threads: int = Field(
        TORCH_THREADS,
        ge=1,
        description="intra-op threads for training and scoring; the weights depend on it, "
        "the load of the machine does not",
    )


StoreKind = Literal["embedded", "memory", "server"]


class StoreSettings(_Section):
    """Where motivation profiles, notes and item traits are kept (Chroma)."""

    kind: StoreKind = Field(
        "embedded",
        description="embedded: a Chroma folder at `path`; memory: gone at exit; server: the "
        "Chroma server at `url` (setting `url` alone chooses it)",
    )
    path: Path = Field(default_factory=lambda: _data_home() / "chroma")
    url: str | None = Field(
        None,
        description="a Chroma server, e.g. http://127.0.0.1:8000 (start one with "
        "`chroma run --path DIR`); every command then keeps its profiles there",
    )
    database: str = Field(
        "default_database",
        min_length=3,
        description="the database on the Chroma server (created on first use): several "
        "projects or users can share one server",
    )

    @model_validator(mode="after")
    def _server_needs_url(self) -> StoreSettings:
        if self.url is not None and self.kind == "embedded":
            self.kind = "server"
        if self.kind == "server" and not self.url:
            raise ValueError("store.kind 'server' needs store.url (M3REC_STORE__URL)")
        if self.kind == "memory" and self.url:
            raise ValueError("store.url is set, but store.kind is 'memory': choose one")
        return self


class HistoryWindows(_Section):
    """How much of a long history MOPE reads: the most recent COUNT windows of SIZE items, one
    LLM call each, merged; older items are not read (MOTE still scores the whole history).

    The default reads what the product reads (`--items 20`): the 20 most recent items, one call.
    Three windows cost three calls, and every window's reply must pass the checks
    (BENCHMARKS.md, "MOPE v2": merged windows repeat themselves)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(20, ge=2, le=200, description="items in one window, one LLM call each")
    count: int = Field(1, ge=1, le=20, description="most recent windows read, then merged")


class MopeSettings(_Section):
    """How motivation profiles are asked for; the prompt version and, for a history longer than
    one window, the windows are part of every profile's key."""

    prompt: Literal["v1", "v2"] = Field(
        "v2",
        description="MOPE prompt version: v2 (motivation kinds, checked labels) or v1 (as "
        "first released)",
    )
    windows: HistoryWindows = Field(
        default_factory=HistoryWindows,
        description="how a history longer than one window is read (M3REC_MOPE__WINDOWS__SIZE, "
        "M3REC_MOPE__WINDOWS__COUNT)",
    )

    @property
    def prompt_id(self) -> str:
        """Return the prompt's id, as profiles record it (`mope/v2`)."""
        return f"mope/{self.prompt}"


# MAR's weight of the best motivation-trait cosine, chosen on validation users (BENCHMARKS.md,
# "MAR in the harness": the pooled validation NDCG@10 of 53 Beauty users, cold_k 2, 3 seeds,
# peaks at 0.3, within noise of 0); `recommend` and the harness's `m3rec` model start from it.
ALIGN_WEIGHT = 0.3
CHAT_WEIGHT = 1.0
MAX_REORDER = 30  # the longest list one LLM call orders


class MarSettings(_Section):
    """How MAR ranks and explains: the alignment weight, the candidates, the LLM's reasons."""

    align_weight: float = Field(
        ALIGN_WEIGHT,
        ge=0,
        description="weight of the best motivation-trait cosine added to MOTE's history score "
        "(choose it on validation users: scripts/bench/mote_notes.py --term align)",
    )
    chat_weight: float = Field(
        CHAT_WEIGHT,
        ge=0,
        description="weight of the best cosine with a motivation said in `m3rec chat`; above "
        "align_weight, so what a person asks for outweighs the motivations read from history",
    )
    reasons: int = Field(5, ge=0, le=20, description="how many of the top items the LLM explains")
    reasons_prompt: Literal["v1", "v2"] = Field(
        "v2",
        description="the reasons' prompt: v2 (each reason first picks one detail of its item, "
        "from the item's own genres, categories and traits, under the grammar) or v1 (as "
        "first released); v2 kept 38% of reasons on the first try where v1 kept 24% "
        "(BENCHMARKS.md, 'The reasons prompt')",
    )
    reorder: bool = Field(
        False,
        description="let the LLM re-order the top items before it explains them "
        "(measured as the harness's m3rec-llm against m3rec: BENCHMARKS.md)",
    )
    reorder_top: int = Field(
        10, ge=2, le=MAX_REORDER, description="how many of the top items the LLM re-orders"
    )
    vector_candidates: int = Field(
        200, ge=1, description="candidates from the Chroma search over MOTE's item vectors"
    )
    cf_candidates: int = Field(
        100, ge=0, description="candidates co-consumed with the user's history"
    )


class ChatSettings(_Section):
    """Where `m3rec chat` keeps its threads: SQLite at paths.chat_db, or a PostgreSQL server."""

    postgres_url: str | None = Field(
        None,
        description="a PostgreSQL database for the threads instead of paths.chat_db, e.g. "
        "postgresql://m3rec@db.example/m3rec or postgresql://m3rec@/m3rec?host=/run/postgresql",
    )
    prompt_cache_mb: int = Field(
        1024,
        ge=0,
        description="llm.prompt_cache_mb for a conversation, whose prompts take turns (reading "
        "a message, writing reasons): each reads only what is new since it was last asked; "
        "0 turns it off",
    )


class Settings(BaseSettings):
    """All of m3rec's settings."""

    model_config = SettingsConfigDict(
        env_prefix="M3REC_",
        env_nested_delimiter="__",
        extra="forbid",
        nested_model_default_partial_update=True,
    )

    chat: ChatSettings = Field(default_factory=ChatSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    mar: MarSettings = Field(default_factory=MarSettings)
    mope: MopeSettings = Field(default_factory=MopeSettings)
    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    paths: PathSettings = Field(default_factory=PathSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    torch: TorchSettings = Field(default_factory=TorchSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if (path := _config_file.get()) is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def openai_api_key(self) -> str | None:
        """Return the API key from settings or $OPENAI_API_KEY, or None."""
        if self.openai.api_key is not None:
            return self.openai.api_key.get_secret_value()
        return os.environ.get("OPENAI_API_KEY") or None


def load_settings(
    config: Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    flags: Mapping[str, str] | None = None,
) -> Settings:
    """Build settings from defaults, the config file, the environment and flag overrides.

    FLAGS maps a dotted setting (`llm.backend`) to the flag that set it in OVERRIDES
    (`--backend`), so an invalid value is reported with the name the user typed.
    """
    path = config if config is not None else default_config_path()
    if config is not None and not path.is_file():
        raise ConfigError(f"config file {path} does not exist: create it or drop --config")
    if path.is_file():
        _check_toml(path)
    token = _config_file.set(path if path.is_file() else None)
    given = _drop_none(overrides or {})
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, path, given, flags or {})) from None
    finally:
        _config_file.reset(token)


def _check_toml(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not valid TOML ({exc}): fix or remove it"
        ) from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc.strerror})") from None


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            nested = _drop_none(value)
            if nested:
                cleaned[key] = nested
        elif value is not None:
            cleaned[key] = value
    return cleaned


def _describe_validation_error(
    exc: ValidationError, path: Path, given: dict[str, Any], flags: Mapping[str, str]
) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(part) for part in first["loc"])
    flag = flags.get(loc)
    if flag is not None and _has(given, first["loc"]):
        return f"invalid {flag} {first['input']!r}: {first['msg']}"
    env_name = "M3REC_" + "__".join(str(part).upper() for part in first["loc"])
    where = f"{env_name} or the config file {path}" if path.is_file() else env_name
    if first["type"] == "extra_forbidden":
        return f"unknown setting '{loc}' ({where}): remove or correct it"
    return f"invalid setting {loc}: {first['msg']} (check {where})"


def _has(values: dict[str, Any], loc: tuple[int | str, ...]) -> bool:
    for part in loc:
        if not isinstance(values, dict) or part not in values:
            return False
        values = values[part]
    return True
