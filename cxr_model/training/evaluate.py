"""`cxr evaluate`: the seed's classification report plus fused / image / text metrics and plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cxr_model.inference.card import HEADS
from cxr_model.inference.predictor import Model, Prediction
from cxr_model.progress import progress
from cxr_model.training.dataset import Example, read_examples
from cxr_model.training.metrics import (
    confusion,
    reliability,
    roc_auc,
    roc_curve,
    summary,
)


def predict_examples(models: Sequence[Model], examples: Sequence[Example],
                     batch_size: int = 16, quiet: bool = True,
                     desc: str = "evaluate") -> list[list[Prediction]]:
    """Each model's predictions (with the examples' reports) for every example, in order.

    Every image is read and preprocessed once, by the first model, and fed to all of them
    (they must share the input spec), so several models compare on identical inputs.
    """
    results: list[list[Prediction]] = [[] for _ in models]
    starts = range(0, len(examples), batch_size)
    for start in progress(starts, total=len(starts), desc=desc, unit="batch", quiet=quiet):
        chunk = examples[start:start + batch_size]
        prepared = [models[0].prepare(models[0].read(e.image)) for e in chunk]
        for model, out in zip(models, results, strict=True):
            out.extend(model.predict_batch(prepared, [e.report for e in chunk]))
    return results


def head_scores(predictions: Sequence[Prediction],
                examples: Sequence[Example]) -> dict[str, np.ndarray]:
    """Labels and the three heads' probabilities (text NaN where no report was used)."""
    return {
        "fused": np.array([p.probability for p in predictions]),
        "image": np.array([p.image_probability for p in predictions]),
        "text": np.array([np.nan if p.text_probability is None else p.text_probability
                          for p in predictions]),
        "label": np.array([e.label for e in examples]),
    }


def score_split(model: Model, csv_path: str | Path, split: str, batch_size: int = 16,
                quiet: bool = True) -> dict[str, np.ndarray]:
    """Labels and the three heads' probabilities for every example of a split."""
    examples = read_examples(csv_path, split)
    [predictions] = predict_examples([model], examples, batch_size, quiet, f"evaluate {split}")
    return head_scores(predictions, examples)


def classification_report(labels: np.ndarray, predicted: np.ndarray,
                          names: tuple[str, str] = ("normal", "abnormal")) -> str:
    """The seed's report: scikit-learn's classification report, then the weighted figures."""
    from sklearn import metrics as sk

    labels, predicted = np.asarray(labels).astype(int), np.asarray(predicted).astype(int)
    report = sk.classification_report(labels, predicted, labels=[0, 1], target_names=names,
                                      digits=4, zero_division=0.0)
    precision, recall, f1, _ = sk.precision_recall_fscore_support(
        labels, predicted, labels=[0, 1], average="weighted", zero_division=0.0)
    accuracy = sk.accuracy_score(labels, predicted)
    return "\n".join([report.rstrip(), "", f"Overall precision (weighted): {precision:.4f}",
                      f"Overall recall (weighted):    {recall:.4f}",
                      f"Overall F1 (weighted):        {f1:.4f}",
                      f"Accuracy:                     {accuracy:.4f}"])


def head_metrics(model: Model, scores: dict[str, np.ndarray]) -> dict[str, dict]:
    """auc, accuracy, precision, recall, f1, ece, n for each head at the card's thresholds."""
    out = {}
    for head in HEADS:
        mask = ~np.isnan(scores[head])
        out[head] = summary(scores["label"][mask], scores[head][mask], model.card.threshold(head))
    return out


def write_plots(model: Model, scores: dict[str, np.ndarray], out: Path) -> list[Path]:
    """Confusion matrix, ROC curves (three heads) and reliability diagram as PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = scores["label"]
    predicted = (scores["fused"] >= model.card.threshold("fused")).astype(int)
    paths = []
    fig, ax = plt.subplots(figsize=(4, 4))
    matrix = confusion(labels, predicted)
    ax.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center",
                color="white" if value > matrix.max() / 2 else "black")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["normal", "abnormal"],
           yticklabels=["normal", "abnormal"], xlabel="predicted", ylabel="true",
           title="Confusion matrix (fused)")
    paths.append(out / "confusion_matrix.png")
    fig.tight_layout()
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    for name, draw in (("roc_curves.png", _draw_roc), ("reliability.png", _draw_reliability)):
        fig, ax = plt.subplots(figsize=(5, 5))
        draw(ax, scores)
        paths.append(out / name)
        fig.tight_layout()
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    return paths


def _draw_roc(ax, scores: dict[str, np.ndarray]) -> None:
    for head in HEADS:
        mask = ~np.isnan(scores[head])
        fpr, tpr = roc_curve(scores["label"][mask], scores[head][mask])
        auc = roc_auc(scores["label"][mask], scores[head][mask])
        ax.plot(fpr, tpr, label=f"{head} (AUC {auc:.4f})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.legend(loc="lower right")


def _draw_reliability(ax, scores: dict[str, np.ndarray]) -> None:
    for head in HEADS:
        mask = ~np.isnan(scores[head])
        rows = reliability(scores["label"][mask], scores[head][mask])
        ax.plot([r[0] for r in rows], [r[1] for r in rows], "o-", label=head)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="predicted P(abnormal)", ylabel="observed frequency",
           title="Reliability diagram (10 bins)")
    ax.legend(loc="upper left")


def evaluate(model: Model, csv_path: str | Path, split: str,
             out: str | Path | None = None, quiet: bool = True) -> tuple[str, dict]:
    """Score a split; returns the printed report and the metrics (also written to out/)."""
    scores = score_split(model, csv_path, split, quiet=quiet)
    metrics = head_metrics(model, scores)
    predicted = (scores["fused"] >= model.card.threshold("fused")).astype(int)
    lines = [f"split {split}: {len(scores['label'])} studies, fused image + report", "",
             classification_report(scores["label"], predicted), "",
             f"{'head':<8}{'AUC':>8}{'acc':>8}{'prec':>8}{'recall':>8}{'F1':>8}{'ECE':>8}"]
    columns = ("auc", "accuracy", "precision", "recall", "f1", "ece")
    for head, m in metrics.items():
        lines.append(f"{head:<8}" + "".join(f"{m[k]:>8.4f}" for k in columns))
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps({"split": split, **metrics}, indent=2))
        try:
            written = write_plots(model, scores, out)
            lines.append("wrote " + ", ".join(str(p) for p in [out / "metrics.json", *written]))
        except ImportError:
            lines.append(f"wrote {out / 'metrics.json'} (plots need matplotlib: the train extra)")
    return "\n".join(lines), metrics
