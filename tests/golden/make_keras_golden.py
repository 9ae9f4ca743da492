"""Record golden outputs of the real Keras text ``Tokenizer`` / ``pad_sequences``.

``tests/test_tokenizer.py`` checks ``cxr_model.text.tokenizer`` against these files, so the project
itself never needs TensorFlow. Run this only to regenerate them, from the repository root, with a
*separate* virtual environment that has TensorFlow (never the project's venv)::

    python3 -m venv /tmp/tf-venv
    /tmp/tf-venv/bin/pip install "tensorflow==2.21.*"
    PYTHONHASHSEED=0 /tmp/tf-venv/bin/python tests/golden/make_keras_golden.py

Input: ``../shared/data/iu-reports.csv`` (Open-i reports; override with ``--csv``). Each report
becomes ``"FINDINGS: {findings}\\nIMPRESSION: {impression}"``; rows with both sections empty are
skipped. The first 600 reports (plus a few extra documents) are the fit corpus, the next 100 are
held out, and hand-written edge cases are added. Output goes to ``tests/golden/keras_tokenizer/``:
``corpus.json`` (all input texts), one ``<config>.json`` per tokenizer configuration and
``pad_sequences.json``. ``PYTHONHASHSEED=0`` only makes Keras' ``word_docs`` key order (a set
iteration order) reproducible; the tests compare parsed JSON, so it does not affect them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CSV = REPO_ROOT.parent / "shared" / "data" / "iu-reports.csv"
OUT_DIR = Path(__file__).resolve().parent / "keras_tokenizer"

N_FIT = 600
N_HELDOUT = 100
N_CHAR_FIT = 40  # char_level configs fit on a small subset
N_MATRIX_HELDOUT = 35  # matrices: this many held-out reports + all edge cases (~50 texts)
PAD_MAXLEN = 100

# Extra fit documents: list-of-words input, unicode and a literal OOV marker in the vocabulary.
FIT_EXTRA: list[str | list[str]] = [
    ["Heart", "SIZE", "Normal", "Lungs", "clear", "Pneumothorax"],
    "Café naïve Ärztliche Untersuchung: Lunge frei. 肺部 清晰",
    "emoji 🙂 lungs clear\u00a0today",
    "<OOV> oov OOV literal marker",
]

EDGE_CASES: list[str | list[str]] = [
    "",
    " ",
    "Café crème naïve RÉSUMÉ Ärztliche Untersuchung",
    "肺部清晰 无胸腔积液 心影正常",
    "lungs clear 🙂 👍🏽 heart 🫀 normal",
    "no\u00a0effusion\u00a0seen and\u2003em space",
    "!!! ... ??? --- ((( ))) ;;; :: @#$%^&*",
    "heart\tsize\nnormal\r\nlungs\t\tclear\n\n",
    "STRASSE Straße İstanbul ǅemal ΣΊΣΥΦΟΣ",
    "xylophone quantumly blorptastic frobnicated zzzz",
    "NORMAL Normal normal nOrMaL",
    "T12 L1 3cm 2.5 mm 10x12 1/2 50%",
    "Don't won't it's patient's left-sided under_score a.b.c",
    "<OOV> oov OOV",
    "   multiple    spaces   between   words   ",
    ["Heart", "SIZE", "normal", "unknownword", ""],
    ["Café", "肺部", "🙂", "pleural effusion"],
    [],
]

# name -> (Tokenizer kwargs, fit on the small char subset?)
CONFIGS: dict[str, tuple[dict[str, Any], bool]] = {
    "default": ({}, False),
    "num_words_oov": ({"num_words": 1000, "oov_token": "<OOV>"}, False),
    "num_words_small": ({"num_words": 50}, False),
    "lower_false": ({"lower": False}, False),
    "oov_token_in_vocab": ({"num_words": 20, "oov_token": "normal"}, False),
    # spaces are filtered to the custom split char, other punctuation stays in the words
    "custom_filters_split": ({"filters": ".,;:\t\n ", "split": "|"}, False),
    "custom_filters_keep_hyphen": (
        {"filters": '!"#$%&()*+,./:;<=>?@[\\]^`{|}~\t\n', "oov_token": "[UNK]"},
        False,
    ),
    "char_level": ({"char_level": True}, True),
    "char_level_oov_lower_false": (
        {"char_level": True, "lower": False, "oov_token": "\x00", "num_words": 40},
        True,
    ),
}

PAD_CASES: list[dict[str, Any]] = [
    {"sequences": [[1], [2, 3], [4, 5, 6]], "kwargs": {}},
    {"sequences": [[1], [2, 3], [4, 5, 6]], "kwargs": {"value": -1}},
    {"sequences": [[1], [2, 3], [4, 5, 6]], "kwargs": {"padding": "post"}},
    {"sequences": [[1], [2, 3], [4, 5, 6]], "kwargs": {"maxlen": 2}},
    {"sequences": [[1], [2, 3], [4, 5, 6]], "kwargs": {"maxlen": 2, "truncating": "post"}},
    {
        "sequences": [[1, 2, 3, 4, 5], [], [7]],
        "kwargs": {"maxlen": 3, "padding": "post", "truncating": "pre", "value": 9},
    },
    {"sequences": [[], [], []], "kwargs": {"maxlen": 4}},
    {"sequences": [[], [1, 2]], "kwargs": {}},
    {"sequences": [[1.5, 2.7], [3.9]], "kwargs": {"dtype": "float32"}},
    {"sequences": [[1.5, 2.7], [3.9]], "kwargs": {}},
    {"sequences": [[300, 70000], [1]], "kwargs": {"dtype": "int64", "maxlen": 5}},
    {"sequences": [[[1, 2], [3, 4]], [[5, 6]]], "kwargs": {"padding": "post"}},
    {"sequences": [[1, 2]], "kwargs": {"maxlen": 6, "value": 0.5, "dtype": "float64"}},
    {"sequences": [], "kwargs": {"maxlen": 3}},
    {"sequences": [[1, 2]], "kwargs": {"padding": "middle"}},
    {"sequences": [[1, 2]], "kwargs": {"truncating": "middle"}},
    {"sequences": [[], []], "kwargs": {"padding": "middle"}},
    {"sequences": [[1, 2]], "kwargs": {"value": "x"}},
    {"sequences": [[1, 2], 3], "kwargs": {}},
    {"sequences": [[[1, 2]], [[1, 2, 3]]], "kwargs": {}},
    {"sequences": [[1, 2, 3]], "kwargs": {"maxlen": 0}},
]


def report_text(findings: str, impression: str) -> str:
    """The app's report text: both sections, labelled."""
    return f"FINDINGS: {findings}\nIMPRESSION: {impression}"


def load_reports(csv_path: Path, limit: int) -> list[str]:
    """First ``limit`` report texts of ``iu-reports.csv``, skipping rows with both sections
    empty."""
    texts: list[str] = []
    with csv_path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            findings, impression = row["findings"].strip(), row["impression"].strip()
            if not findings and not impression:
                continue
            texts.append(report_text(findings, impression))
            if len(texts) >= limit:
                break
    return texts


def sparse(matrix: Any) -> dict[str, Any]:
    """``{"shape": [r, c], "data": {row: {col: value}}}`` of a dense float matrix."""
    data: dict[str, dict[str, float]] = {}
    for r, c in zip(*matrix.nonzero(), strict=True):
        data.setdefault(str(int(r)), {})[str(int(c))] = float(matrix[r, c])
    return {"shape": [int(n) for n in matrix.shape], "data": data}


def write_json(path: Path, obj: Any) -> None:
    path.write_text(
        json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np
    import tensorflow as tf
    from tensorflow.keras.preprocessing.sequence import pad_sequences
    from tensorflow.keras.preprocessing.text import Tokenizer, text_to_word_sequence

    versions = {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "tokenizer_module": Tokenizer.__module__,
        "pad_sequences_module": pad_sequences.__module__,
    }
    reports = load_reports(args.csv, N_FIT + N_HELDOUT)
    if len(reports) < N_FIT + N_HELDOUT:
        raise SystemExit(f"need {N_FIT + N_HELDOUT} reports, found {len(reports)}")
    fit_texts = reports[:N_FIT] + FIT_EXTRA
    char_fit_texts = reports[:N_CHAR_FIT] + FIT_EXTRA
    heldout = reports[N_FIT:]

    args.out.mkdir(parents=True, exist_ok=True)
    write_json(
        args.out / "corpus.json",
        {
            "versions": versions,
            "source": "iu-reports.csv",
            "n_fit_reports": N_FIT,
            "n_char_fit_reports": N_CHAR_FIT,
            "pad_maxlen": PAD_MAXLEN,
            "fit": fit_texts,
            "char_fit": char_fit_texts,
            "heldout": heldout,
            "edge": EDGE_CASES,
            "text_to_word_sequence": [
                {"text": t, "kwargs": kw, "tokens": text_to_word_sequence(t, **kw)}
                for t in EDGE_CASES + heldout[:3]
                if isinstance(t, str)
                for kw in ({}, {"lower": False}, {"filters": ".,", "split": "\n"})
            ],
        },
    )

    n_cases = 0
    for name, (kwargs, char_subset) in CONFIGS.items():
        tok = Tokenizer(**kwargs)
        fit = char_fit_texts if char_subset else fit_texts
        tok.fit_on_texts(fit)
        held = heldout[:20] if char_subset else heldout
        seqs = {
            "fit": tok.texts_to_sequences(fit),
            "heldout": tok.texts_to_sequences(held),
            "edge": tok.texts_to_sequences(EDGE_CASES),
        }
        eval_seqs = seqs["heldout"] + seqs["edge"]
        n_mat_held = 10 if char_subset else N_MATRIX_HELDOUT
        mat_texts = held[:n_mat_held] + EDGE_CASES
        record = {
            "versions": versions,
            "kwargs": kwargs,
            "fit_set": "char_fit" if char_subset else "fit",
            "n_heldout": len(held),
            "to_json": tok.to_json(),
            "sequences": seqs,
            "sequences_to_texts": tok.sequences_to_texts(eval_seqs),
            # pad_sequences over held-out + edge sequences
            "pad_pre_pre": pad_sequences(eval_seqs, maxlen=PAD_MAXLEN).tolist(),
            "pad_post_post": pad_sequences(
                eval_seqs, maxlen=PAD_MAXLEN, padding="post", truncating="post"
            ).tolist(),
            "n_matrix_heldout": n_mat_held,  # matrix texts: heldout[:n] + edge
            "matrix": {
                mode: sparse(tok.texts_to_matrix(mat_texts, mode=mode))
                for mode in ("binary", "count", "tfidf", "freq")
            },
        }
        write_json(args.out / f"{name}.json", record)
        n_cases += sum(len(v) for v in seqs.values()) + 2 * len(eval_seqs) + 4 * len(mat_texts)

    pad_records = []
    for case in PAD_CASES:
        rec: dict[str, Any] = dict(case)
        try:
            out = pad_sequences(case["sequences"], **case["kwargs"])
            rec.update(result=out.tolist(), dtype=str(out.dtype), shape=list(out.shape))
        except Exception as e:  # the error type is what is recorded
            rec["error"] = type(e).__name__
        pad_records.append(rec)
    write_json(args.out / "pad_sequences.json", {"versions": versions, "cases": pad_records})
    n_cases += len(pad_records)

    total = sum(p.stat().st_size for p in args.out.glob("*.json"))
    print(f"{versions}: {len(CONFIGS)} configs, {n_cases} golden cases, {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
