"""Parity of ``cxr_model.text.tokenizer`` with real Keras, via golden files, plus edge cases.

Golden files live in ``tests/golden/keras_tokenizer/`` and were written by
``tests/golden/make_keras_golden.py`` with TensorFlow/Keras (see ``versions`` inside them).
No TensorFlow is needed here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cxr_model.text.tokenizer import (
    Tokenizer,
    pad_sequences,
    text_to_word_sequence,
    tokenizer_from_json,
)

GOLDEN_DIR = Path(__file__).parent / "golden" / "keras_tokenizer"
GENERATOR = Path(__file__).parent / "golden" / "make_keras_golden.py"
SHARED_CSV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "iu-reports.csv"

CONFIGS = [
    "default",
    "num_words_oov",
    "num_words_small",
    "lower_false",
    "oov_token_in_vocab",
    "custom_filters_split",
    "custom_filters_keep_hyphen",
    "char_level",
    "char_level_oov_lower_false",
]
MODES = ["binary", "count", "tfidf", "freq"]
ORDERED_MAPS = ("word_counts", "word_index", "index_word")  # deterministic key order in Keras
MAPS = (*ORDERED_MAPS, "word_docs", "index_docs")  # word_docs order follows a Python set


@cache
def golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN_DIR / f"{name}.json").read_text(encoding="utf-8"))


def corpus() -> dict[str, Any]:
    return golden("corpus")


@cache
def fitted(name: str) -> Tokenizer:
    """Our tokenizer, fitted as Keras was for config ``name``."""
    g = golden(name)
    tok = Tokenizer(**g["kwargs"])
    tok.fit_on_texts(corpus()[g["fit_set"]])
    return tok


def eval_texts(name: str) -> dict[str, list[Any]]:
    g = golden(name)
    return {
        "fit": corpus()[g["fit_set"]],
        "heldout": corpus()["heldout"][: g["n_heldout"]],
        "edge": corpus()["edge"],
    }


def matrix_texts(name: str) -> list[Any]:
    return eval_texts(name)["heldout"][: golden(name)["n_matrix_heldout"]] + corpus()["edge"]


def parse_config(json_string: str) -> dict[str, Any]:
    """Tokenizer JSON with the nested JSON strings decoded; ordered maps as item lists."""
    outer = json.loads(json_string)
    assert outer["class_name"] == "Tokenizer"
    config = dict(outer["config"])
    for key in MAPS:
        pairs = json.loads(config[key], object_pairs_hook=list)
        config[key] = pairs if key in ORDERED_MAPS else dict(pairs)
    return config


def dense(sparse: dict[str, Any]) -> np.ndarray:
    x = np.zeros(sparse["shape"])
    for r, cols in sparse["data"].items():
        for c, v in cols.items():
            x[int(r), int(c)] = v
    return x


# -- golden parity --------------------------------------------------------------------------


def test_golden_files_present_and_versioned() -> None:
    versions = corpus()["versions"]
    assert versions["tensorflow"].startswith("2.")
    assert versions["tokenizer_module"].endswith("preprocessing.text")
    assert len(corpus()["fit"]) > corpus()["n_fit_reports"] >= 600
    assert len(corpus()["heldout"]) == 100
    for name in CONFIGS:
        assert golden(name)["versions"] == versions


@pytest.mark.parametrize("name", CONFIGS)
def test_fit_config_matches_keras(name: str) -> None:
    ours = parse_config(fitted(name).to_json())
    theirs = parse_config(golden(name)["to_json"])
    assert ours.keys() == theirs.keys()
    for key in theirs:
        assert ours[key] == theirs[key], key


@pytest.mark.parametrize("name", CONFIGS)
def test_texts_to_sequences_match_keras(name: str) -> None:
    tok = fitted(name)
    expected = golden(name)["sequences"]
    for split, texts in eval_texts(name).items():
        assert tok.texts_to_sequences(texts) == expected[split], split
        assert list(tok.texts_to_sequences_generator(texts)) == expected[split], split


@pytest.mark.parametrize("name", CONFIGS)
def test_sequences_to_texts_match_keras(name: str) -> None:
    g = golden(name)
    seqs = g["sequences"]["heldout"] + g["sequences"]["edge"]
    assert fitted(name).sequences_to_texts(seqs) == g["sequences_to_texts"]


@pytest.mark.parametrize("name", CONFIGS)
def test_pad_sequences_match_keras(name: str) -> None:
    g = golden(name)
    texts = eval_texts(name)
    seqs = fitted(name).texts_to_sequences(texts["heldout"] + texts["edge"])
    pre = pad_sequences(seqs, maxlen=corpus()["pad_maxlen"])
    post = pad_sequences(seqs, maxlen=corpus()["pad_maxlen"], padding="post", truncating="post")
    for got, key in ((pre, "pad_pre_pre"), (post, "pad_post_post")):
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, np.array(g[key], dtype=np.int32), err_msg=key)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", CONFIGS)
def test_texts_to_matrix_matches_keras(name: str, mode: str) -> None:
    expected = dense(golden(name)["matrix"][mode])
    got = fitted(name).texts_to_matrix(matrix_texts(name), mode=mode)
    assert got.shape == expected.shape
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", CONFIGS)
def test_tokenizer_from_keras_json(name: str) -> None:
    g = golden(name)
    tok = tokenizer_from_json(g["to_json"])
    texts = eval_texts(name)
    assert tok.texts_to_sequences(texts["heldout"]) == g["sequences"]["heldout"]
    assert tok.texts_to_sequences(texts["edge"]) == g["sequences"]["edge"]
    np.testing.assert_allclose(
        tok.texts_to_matrix(matrix_texts(name), mode="tfidf"),
        dense(g["matrix"]["tfidf"]),
        rtol=0,
        atol=1e-6,
    )
    assert parse_config(tok.to_json()) == parse_config(g["to_json"])


@pytest.mark.parametrize("name", CONFIGS)
def test_to_json_round_trip(name: str) -> None:
    tok = fitted(name)
    loaded = tokenizer_from_json(tok.to_json())
    assert parse_config(loaded.to_json()) == parse_config(tok.to_json())
    assert isinstance(loaded.word_counts, OrderedDict)
    assert all(isinstance(k, int) for k in loaded.index_word)
    edge = corpus()["edge"]
    assert loaded.texts_to_sequences(edge) == tok.texts_to_sequences(edge)


def test_text_to_word_sequence_matches_keras() -> None:
    cases = corpus()["text_to_word_sequence"]
    assert len(cases) > 30
    for case in cases:
        assert text_to_word_sequence(case["text"], **case["kwargs"]) == case["tokens"], case


def test_pad_sequences_cases_match_keras() -> None:
    cases = golden("pad_sequences")["cases"]
    assert any("error" in c for c in cases) and any("result" in c for c in cases)
    for case in cases:
        if "error" in case:
            with pytest.raises(ValueError):
                pad_sequences(case["sequences"], **case["kwargs"])
            assert case["error"] == "ValueError"
            continue
        got = pad_sequences(case["sequences"], **case["kwargs"])
        assert str(got.dtype) == case["dtype"], case
        assert list(got.shape) == case["shape"], case
        expected = np.array(case["result"], dtype=case["dtype"]).reshape(case["shape"])
        np.testing.assert_array_equal(got, expected)


def test_golden_corpus_matches_shared_data() -> None:
    if not SHARED_CSV.is_file():
        pytest.skip(f"shared data not available: {SHARED_CSV} is absent")
    spec = importlib.util.spec_from_file_location("make_keras_golden", GENERATOR)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    n_fit = corpus()["n_fit_reports"]
    reports = gen.load_reports(SHARED_CSV, n_fit + 100)
    assert corpus()["fit"][:n_fit] == reports[:n_fit]
    assert corpus()["heldout"] == reports[n_fit:]
    assert all(r.startswith("FINDINGS: ") and "\nIMPRESSION: " in r for r in reports)


# -- unit tests -----------------------------------------------------------------------------


def test_no_tensorflow_imported() -> None:
    assert "tensorflow" not in sys.modules
    assert "keras" not in sys.modules


def test_text_to_word_sequence_basics() -> None:
    assert text_to_word_sequence("Heart, SIZE: normal.\tLungs\nclear") == [
        "heart",
        "size",
        "normal",
        "lungs",
        "clear",
    ]
    assert text_to_word_sequence("a-b c", filters="", split="-") == ["a", "b c"]
    assert text_to_word_sequence("!!! ...") == []
    assert text_to_word_sequence("") == []


def test_index_order_oov_and_ties() -> None:
    tok = Tokenizer(oov_token="<OOV>")
    tok.fit_on_texts(["b a c", "a c", "d"])
    # a and c both occur twice: first-seen order (a before c) is kept; b before d likewise.
    assert tok.word_index == {"<OOV>": 1, "a": 2, "c": 3, "b": 4, "d": 5}
    assert tok.index_word[1] == "<OOV>"
    assert tok.texts_to_sequences(["a zzz d"]) == [[2, 1, 5]]
    assert tok.sequences_to_texts([[2, 1, 5, 99]]) == ["a <OOV> d <OOV>"]
    assert tok.word_docs == {"b": 1, "a": 2, "c": 2, "d": 1}
    assert tok.index_docs == {4: 1, 2: 2, 3: 2, 5: 1}
    assert tok.document_count == 3


def test_num_words_limits_indices() -> None:
    texts = ["a a a b b c"]
    plain = Tokenizer(num_words=3)
    plain.fit_on_texts(texts)
    assert plain.texts_to_sequences(["a b c zz"]) == [[1, 2]]
    assert plain.texts_to_matrix(["a b c"]).tolist() == [[0.0, 1.0, 1.0]]
    oov = Tokenizer(num_words=3, oov_token="?")
    oov.fit_on_texts(texts)
    assert oov.word_index == {"?": 1, "a": 2, "b": 3, "c": 4}
    assert oov.texts_to_sequences(["a b c zz"]) == [[2, 1, 1, 1]]


def test_char_level_and_list_input() -> None:
    tok = Tokenizer(char_level=True)
    tok.fit_on_texts(["Ab, a"])
    assert tok.word_index == {"a": 1, "b": 2, ",": 3, " ": 4}  # filters do not apply
    words = Tokenizer()
    words.fit_on_texts([["Heart", "SIZE"], "heart ok"])
    assert words.word_index == {"heart": 1, "size": 2, "ok": 3}
    assert words.texts_to_sequences([["HEART", "ok!"]]) == [[1]]  # list items are not filtered


def test_matrix_modes_by_hand() -> None:
    tok = Tokenizer()
    tok.fit_on_texts(["a a b", "a"])  # a: idx 1 in 2 docs, b: idx 2 in 1 doc
    seqs = [[1, 1, 2]]
    np.testing.assert_allclose(tok.sequences_to_matrix(seqs, "count"), [[0, 2, 1]])
    np.testing.assert_allclose(tok.sequences_to_matrix(seqs, "freq"), [[0, 2 / 3, 1 / 3]])
    np.testing.assert_allclose(tok.sequences_to_matrix(seqs, "binary"), [[0, 1, 1]])
    tfidf = [[0, (1 + np.log(2)) * np.log(1 + 2 / 3), np.log(1 + 2 / 2)]]
    np.testing.assert_allclose(tok.sequences_to_matrix(seqs, "tfidf"), tfidf)
    assert tok.texts_to_matrix(["", "zzz"]).tolist() == [[0, 0, 0], [0, 0, 0]]
    # indices beyond the width are dropped but still count in the freq denominator (Keras)
    np.testing.assert_allclose(tok.sequences_to_matrix([[1, 7, 7]], "freq"), [[0, 1 / 3, 0]])
    np.testing.assert_allclose(tok.sequences_to_matrix([[1, 7, 7]], "count"), [[0, 1, 0]])


def test_matrix_errors() -> None:
    with pytest.raises(ValueError, match="Specify a dimension"):
        Tokenizer().sequences_to_matrix([[1]])
    with pytest.raises(ValueError, match="tfidf"):
        Tokenizer(num_words=5).sequences_to_matrix([[1]], mode="tfidf")
    tok = Tokenizer()
    tok.fit_on_texts(["a"])
    with pytest.raises(ValueError, match="Unknown vectorization mode"):
        tok.texts_to_matrix(["a"], mode="onehot")


def test_fit_on_sequences_enables_tfidf() -> None:
    tok = Tokenizer(num_words=4)
    tok.fit_on_sequences([[1, 1, 2], [2, 3]])
    assert tok.document_count == 2
    assert tok.index_docs == {1: 1, 2: 2, 3: 1}
    got = tok.sequences_to_matrix([[2]], mode="tfidf")
    np.testing.assert_allclose(got, [[0, 0, np.log(1 + 2 / 3), 0]])


def test_empty_inputs() -> None:
    tok = Tokenizer()
    tok.fit_on_texts([])
    assert tok.word_index == {} and tok.document_count == 0
    assert tok.texts_to_sequences([]) == []
    assert tok.texts_to_sequences([""]) == [[]]
    assert pad_sequences([], maxlen=3).shape == (0, 3)
    with pytest.raises(ValueError):
        pad_sequences([])  # maxlen cannot be inferred
    np.testing.assert_array_equal(pad_sequences([[], []], maxlen=2), [[0, 0], [0, 0]])


def test_pad_sequences_truncation_and_padding() -> None:
    seqs = [[1, 2, 3, 4], [5]]
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2), [[3, 4], [0, 5]])
    np.testing.assert_array_equal(
        pad_sequences(seqs, maxlen=2, truncating="post", padding="post"), [[1, 2], [5, 0]]
    )
    np.testing.assert_array_equal(
        pad_sequences(seqs, maxlen=3, truncating="post", value=-1), [[1, 2, 3], [-1, -1, 5]]
    )
    assert pad_sequences(seqs).shape == (2, 4)
    assert pad_sequences(seqs).dtype == np.int32


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"padding": "middle"}, "Padding type"),
        ({"truncating": "middle"}, "Truncating type"),
        ({"value": "pad"}, "not compatible"),
    ],
)
def test_pad_sequences_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pad_sequences([[1, 2, 3]], maxlen=2, **kwargs)


def test_pad_sequences_non_iterable() -> None:
    with pytest.raises(ValueError, match="list of iterables"):
        pad_sequences([[1], 2])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="must be iterable"):
        pad_sequences(iter([[1]]))  # type: ignore[arg-type]
