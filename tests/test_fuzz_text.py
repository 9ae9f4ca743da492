"""Fuzzing the text path: random unicode through the tokenizer and the model's text input,
random bytes through the report reader. Only the project's own errors may escape."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxr_model.errors import ReportReadError
from cxr_model.text.inputs import report_inputs, vocab_size
from cxr_model.text.report import read_report
from cxr_model.text.tokenizer import Tokenizer, pad_sequences, tokenizer_from_json

FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
REPORTS = [
    "FINDINGS: The lungs are clear.\nIMPRESSION: No acute disease.",
    "IMPRESSION: Right lower lobe opacity, pneumonia.",
]


@FUZZ
@given(
    texts=st.lists(st.text(max_size=300), min_size=1, max_size=5),
    num_words=st.one_of(st.none(), st.integers(1, 50)),
    oov=st.one_of(st.none(), st.text(min_size=1, max_size=5)),
    char_level=st.booleans(),
    lower=st.booleans(),
)
def test_tokenizer_never_crashes_on_unicode(texts, num_words, oov, char_level, lower):
    tok = Tokenizer(num_words=num_words, oov_token=oov, char_level=char_level, lower=lower)
    tok.fit_on_texts(texts + REPORTS)
    sequences = tok.texts_to_sequences(texts)
    assert len(sequences) == len(texts)
    width = vocab_size(tok)
    # Keras emits the OOV token's index even when num_words leaves no room for it
    oov_index = tok.word_index.get(oov) if oov is not None else None
    assert all(0 < i < width or i == oov_index for seq in sequences for i in seq)
    padded = pad_sequences(sequences, maxlen=100)
    assert padded.shape == (len(texts), 100)
    for mode in ("binary", "count", "tfidf", "freq"):
        matrix = tok.texts_to_matrix(texts, mode=mode)
        assert matrix.shape == (len(texts), width) and np.isfinite(matrix).all()
    again = tokenizer_from_json(tok.to_json())
    assert again.texts_to_sequences(texts) == sequences


@FUZZ
@given(
    reports=st.lists(st.one_of(st.none(), st.text(max_size=500)), min_size=1, max_size=4),
    mode=st.sampled_from(["sequence", "bag"]),
)
def test_model_text_input_is_always_well_formed(reports, mode):
    tok = Tokenizer()
    tok.fit_on_texts(REPORTS)
    vectors, has_report = report_inputs(tok, reports, mode, 100)
    assert vectors.dtype == np.float32 and np.isfinite(vectors).all()
    assert has_report.shape == (len(reports), 1)
    assert set(np.unique(has_report)) <= {0.0, 1.0}
    assert not vectors[has_report[:, 0] == 0].any()  # a masked report contributes nothing


@FUZZ
@given(data=st.binary(max_size=4096))
def test_report_reader_only_raises_its_own_error(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "fuzz-report.txt"
    path.write_bytes(data)
    try:
        text = read_report(path)
    except ReportReadError as exc:
        assert "fuzz-report.txt" in str(exc)
    else:
        assert isinstance(text, str)
