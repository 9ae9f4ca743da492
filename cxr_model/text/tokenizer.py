"""TensorFlow-free reimplementation of the legacy Keras text ``Tokenizer`` and ``pad_sequences``.

Behaviour matches ``keras.src.legacy.preprocessing.text`` (tf.keras / Keras 2 legacy API) and
``keras.utils.pad_sequences``, including JSON written by Keras' ``Tokenizer.to_json()``, so a
tokenizer fitted with real Keras can be loaded here and produces identical sequences. Parity is
checked against golden files recorded from real Keras (``tests/golden/keras_tokenizer/``).

Only numpy and the standard library are used.
"""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_FILTERS",
    "Tokenizer",
    "pad_sequences",
    "text_to_word_sequence",
    "tokenizer_from_json",
]

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'

# A text is either a string or an already tokenised list of words.
Text = str | list[str]


def text_to_word_sequence(
    input_text: str,
    filters: str = DEFAULT_FILTERS,
    lower: bool = True,
    split: str = " ",
) -> list[str]:
    """Split a text into words: optionally lower-case, map every filter char to ``split``,
    split on ``split`` and drop empty tokens."""
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate(str.maketrans(dict.fromkeys(filters, split)))
    return [token for token in input_text.split(split) if token]


class Tokenizer:
    """Word (or character) tokenizer compatible with the legacy Keras ``Tokenizer``.

    Index 0 is reserved for padding; when ``oov_token`` is given it gets index 1. Words are
    indexed by descending frequency, ties kept in first-seen order. ``num_words`` does not
    shrink the vocabulary; it limits the indices emitted by ``texts_to_sequences`` and the
    matrix width (only indices ``< num_words`` are kept).
    """

    def __init__(
        self,
        num_words: int | None = None,
        filters: str = DEFAULT_FILTERS,
        lower: bool = True,
        split: str = " ",
        char_level: bool = False,
        oov_token: str | None = None,
        analyzer: Callable[[str], list[str]] | None = None,
        document_count: int = 0,
    ) -> None:
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        self.analyzer = analyzer
        self.document_count = document_count
        self.word_counts: OrderedDict[str, int] = OrderedDict()
        self.word_docs: defaultdict[str, int] = defaultdict(int)
        self.index_docs: defaultdict[int, int] = defaultdict(int)
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}

    # -- tokenisation ---------------------------------------------------------------------

    def _tokens(self, text: Text) -> Sequence[str]:
        """Tokens of one text: characters (``char_level``, no filtering), the given list of
        words, or the words of a string."""
        if self.char_level or isinstance(text, list):
            if self.lower:
                return [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return text
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, filters=self.filters, lower=self.lower, split=self.split)

    # -- fitting --------------------------------------------------------------------------

    def fit_on_texts(self, texts: Iterable[Text]) -> None:
        """Update counts from ``texts`` and rebuild ``word_index``/``index_word``/``index_docs``."""
        for text in texts:
            self.document_count += 1
            tokens = self._tokens(text)
            for w in tokens:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in dict.fromkeys(tokens):  # distinct words, first-seen order
                self.word_docs[w] = self.word_docs.get(w, 0) + 1

        # list.sort is stable, also with reverse=True: ties keep insertion order.
        by_count = sorted(self.word_counts.items(), key=lambda kv: kv[1], reverse=True)
        vocab = ([] if self.oov_token is None else [self.oov_token]) + [w for w, _ in by_count]
        # An oov_token that also occurs in the texts keeps only its *later* index, and index 1
        # is then missing from index_word: Keras quirk, kept for parity.
        self.word_index = dict(zip(vocab, range(1, len(vocab) + 1), strict=True))
        self.index_word = {i: w for w, i in self.word_index.items()}
        for w, c in self.word_docs.items():
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences: Sequence[Sequence[int]]) -> None:
        """Update ``document_count`` and ``index_docs`` from already indexed sequences
        (needed before ``sequences_to_matrix(mode='tfidf')`` without ``fit_on_texts``)."""
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    # -- texts <-> sequences --------------------------------------------------------------

    def texts_to_sequences(self, texts: Iterable[Text]) -> list[list[int]]:
        """Map each text to its list of word indices (see ``texts_to_sequences_generator``)."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts: Iterable[Text]) -> Iterator[list[int]]:
        """Yield one index list per text. Unknown words and words with index ``>= num_words``
        become the OOV index when ``oov_token`` is set and are dropped otherwise."""
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)  # type: ignore[arg-type]
        for text in texts:
            seq: list[int] = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is None:
                    if self.oov_token is not None:
                        seq.append(oov_index)  # type: ignore[arg-type]  # None if unfitted
                elif num_words and i >= num_words:
                    if oov_index is not None:
                        seq.append(oov_index)
                else:
                    seq.append(i)
            yield seq

    def sequences_to_texts(self, sequences: Iterable[Iterable[int]]) -> list[str]:
        """Map index lists back to space-joined words (inverse of ``texts_to_sequences``)."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences: Iterable[Iterable[int]]) -> Iterator[str]:
        """Yield one text per index list, with the same OOV and ``num_words`` rules."""
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)  # type: ignore[arg-type]
        for seq in sequences:
            words: list[str] = []
            for num in seq:
                word = self.index_word.get(num)
                if word is None:
                    if self.oov_token is not None:
                        words.append(self.index_word[oov_index])  # type: ignore[index]
                elif num_words and num >= num_words:
                    if oov_index is not None:
                        words.append(self.index_word[oov_index])
                else:
                    words.append(word)
            yield " ".join(words)

    # -- matrices -------------------------------------------------------------------------

    def texts_to_matrix(self, texts: Iterable[Text], mode: str = "binary") -> np.ndarray:
        """Bag-of-words matrix of ``texts``; see ``sequences_to_matrix``."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(
        self, sequences: Sequence[Sequence[int]], mode: str = "binary"
    ) -> np.ndarray:
        """Float64 matrix ``(len(sequences), num_words)``; indices ``>= num_words`` are ignored.

        Modes: ``binary`` (1 if present), ``count``, ``freq`` (count / sequence length) and
        ``tfidf`` (``(1 + log c) * log(1 + document_count / (1 + index_docs[j]))``).
        Without ``num_words`` the width is ``len(word_index) + 1``.
        """
        if self.num_words:
            width = self.num_words
        elif self.word_index:
            width = len(self.word_index) + 1
        else:
            raise ValueError(
                "Specify a dimension (`num_words` argument), or fit on some text data first."
            )
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on some data before using tfidf mode.")

        x = np.zeros((len(sequences), width))
        for row, seq in enumerate(sequences):
            if not seq:
                continue
            counts: dict[int, int] = {}
            for j in seq:
                if j < width:
                    counts[j] = counts.get(j, 0) + 1
            for j, c in counts.items():
                if mode == "count":
                    x[row, j] = c
                elif mode == "freq":
                    x[row, j] = c / len(seq)
                elif mode == "binary":
                    x[row, j] = 1
                elif mode == "tfidf":
                    tf = 1 + np.log(c)
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[row, j] = tf * idf
                else:
                    raise ValueError("Unknown vectorization mode:", mode)
        return x

    # -- serialisation --------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """Config as Keras writes it: the five mappings are JSON *strings*."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs: Any) -> str:
        """``{"class_name": "Tokenizer", "config": get_config()}`` as a JSON string;
        ``kwargs`` go to ``json.dumps``."""
        return json.dumps({"class_name": "Tokenizer", "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string: str) -> Tokenizer:
    """Rebuild a ``Tokenizer`` from ``to_json()`` output (ours or real Keras')."""
    config = dict(json.loads(json_string)["config"])
    word_counts = json.loads(config.pop("word_counts"), object_pairs_hook=OrderedDict)
    word_docs = json.loads(config.pop("word_docs"))
    index_docs = {int(k): v for k, v in json.loads(config.pop("index_docs")).items()}
    index_word = {int(k): v for k, v in json.loads(config.pop("index_word")).items()}
    word_index = json.loads(config.pop("word_index"))

    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = word_counts
    tokenizer.word_docs = defaultdict(int, word_docs)
    tokenizer.index_docs = defaultdict(int, index_docs)
    tokenizer.word_index = word_index
    tokenizer.index_word = index_word
    return tokenizer


def pad_sequences(
    sequences: Sequence[Sequence[Any]],
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pad/truncate sequences to a ``(len(sequences), maxlen)`` array, as
    ``keras.utils.pad_sequences``.

    ``maxlen`` defaults to the longest sequence. ``truncating`` ('pre'/'post') drops values from
    the start/end of longer sequences; ``padding`` ('pre'/'post') puts ``value`` before/after
    shorter ones. Elements may themselves be arrays (trailing sample shape is kept).

    Raises:
        ValueError: ``sequences`` is not a list of iterables, a sample shape differs, a string
            ``value`` with a non-string ``dtype``, or an unknown ``padding``/``truncating``
            (checked, as in Keras, only when a non-empty sequence is met).
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")

    lengths: list[int] = []
    sample_shape: tuple[int, ...] = ()
    shape_known = False
    for s in sequences:
        try:
            n = len(s)
        except TypeError as e:
            raise ValueError(
                f"`sequences` must be a list of iterables. Found non-iterable: {s}"
            ) from e
        lengths.append(n)
        if n and not shape_known:  # element shape comes from the first non-empty sequence
            sample_shape = np.asarray(s).shape[1:]
            shape_known = True

    if maxlen is None:
        if not lengths:
            raise ValueError("Cannot infer `maxlen` from an empty list of sequences.")
        maxlen = max(lengths)

    is_str_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_str_dtype:
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
            "You should set `dtype=object` for variable length strings."
        )

    x = np.full((len(sequences), maxlen, *sample_shape), value, dtype=dtype)
    for idx, s in enumerate(sequences):
        if not len(s):
            continue
        if truncating == "pre":
            trunc = s[-maxlen:]  # NB: maxlen == 0 keeps everything, then fails below (as Keras)
        elif truncating == "post":
            trunc = s[:maxlen]
        else:
            raise ValueError(f'Truncating type "{truncating}" not understood')

        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {trunc.shape[1:]} of sequence at position {idx} "
                f"is different from expected shape {sample_shape}"
            )
        if padding == "post":
            x[idx, : len(trunc)] = trunc
        elif padding == "pre":
            x[idx, -len(trunc) :] = trunc
        else:
            raise ValueError(f'Padding type "{padding}" not understood')
    return x
