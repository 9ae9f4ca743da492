"""Turning report text into the text branch's input vector (shared by training and inference)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cxr_model.text.tokenizer import Tokenizer, pad_sequences


def vocab_size(tokenizer: Tokenizer) -> int:
    """Number of token ids the tokenizer can emit (Keras: num_words, else the index + 1)."""
    return tokenizer.num_words or len(tokenizer.word_index) + 1


def report_inputs(
    tokenizer: Tokenizer, reports: Sequence[str | None], text_mode: str, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Text vectors (B, T) float32 and the has-report mask (B, 1).

    `sequence`: the seed's padded token ids (Keras defaults, pre/pre, length max_len),
    scaled by 1/vocab size. `bag`: Keras `texts_to_matrix(mode='binary')`.
    A report that is missing or has no known token is masked (has_report = 0).
    """
    texts = [r or "" for r in reports]
    sequences = tokenizer.texts_to_sequences(texts)
    has_report = np.array([[1.0 if seq else 0.0] for seq in sequences], dtype=np.float32)
    if text_mode == "sequence":
        ids = pad_sequences(sequences, maxlen=max_len)
        vectors = ids.astype(np.float32) / float(vocab_size(tokenizer))
    elif text_mode == "bag":
        vectors = tokenizer.sequences_to_matrix(sequences, mode="binary").astype(np.float32)
    else:
        raise ValueError(f"unknown text mode {text_mode!r}")
    return vectors * has_report, has_report
