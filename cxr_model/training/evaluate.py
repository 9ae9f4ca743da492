"""`cxr evaluate`: the seed's classification report plus fused / image / text metrics and plots."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from cxr_model.imaging.preprocess import low_resolution
from cxr_model.inference.card import HEADS
from cxr_model.inference.predictor import Model, Prediction, Prepared, heatmap
from cxr_model.progress import progress
from cxr_model.training.dataset import Example, read_column, read_examples
from cxr_model.training.metrics import (
    chance_ece,
    confusion,
    reliability,
    roc_auc,
    roc_curve,
    summary,
)
from cxr_model.training.shift_eval import format_shifts, shift_figures
from cxr_model.training.subgroups import format_subgroups, subgroup_figures
from cxr_model.vocabulary import CLASS_LABELS, Label, OodReason

#: Side of the corner squares, and width of the left/right strips, where a heatmap peak
#: counts as "in a corner" / "at the side", as shares of the image side.
CORNER = 0.2
SIDE = 0.125


def predict_examples(
    models: Sequence[Model],
    examples: Sequence[Example],
    batch_size: int = 16,
    quiet: bool = True,
    desc: str = "evaluate",
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[list[Prediction]]:
    """Each model's predictions (with the examples' reports) for every example, in order.

    Every image is read and preprocessed once, by the first model, optionally transformed
    (the low-resolution control), and fed to all of them (they must share the input spec),
    so several models compare on identical inputs.
    """
    results: list[list[Prediction]] = [[] for _ in models]
    starts = range(0, len(examples), batch_size)
    for start in progress(starts, total=len(starts), desc=desc, unit="batch", quiet=quiet):
        chunk = examples[start : start + batch_size]
        prepared = [models[0].prepare(models[0].read(e.image)) for e in chunk]
        if transform is not None:
            prepared = [Prepared(transform(p.array), p.size, p.age) for p in prepared]
        for model, out in zip(models, results, strict=True):
            out.extend(model.predict_batch(prepared, [e.report for e in chunk]))
    return results


def head_scores(
    predictions: Sequence[Prediction], examples: Sequence[Example]
) -> dict[str, np.ndarray]:
    """Labels and the three heads' probabilities (text NaN where no report was used)."""
    return {
        "fused": np.array([p.probability for p in predictions]),
        "image": np.array([p.image_probability for p in predictions]),
        "text": np.array(
            [np.nan if p.text_probability is None else p.text_probability for p in predictions]
        ),
        "label": np.array([e.label for e in examples]),
    }


def score_split(
    model: Model, csv_path: str | Path, split: str, batch_size: int = 16, quiet: bool = True
) -> dict[str, np.ndarray]:
    """Labels, the three heads' probabilities, the image guard's flags and where the
    heatmaps peak, for every example of a split."""
    examples = read_examples(csv_path, split)
    [predictions] = predict_examples([model], examples, batch_size, quiet, f"evaluate {split}")
    result = head_scores(predictions, examples)
    result["flagged"] = image_flags(predictions)
    result["peaks"] = np.array(
        [
            (
                p.label == Label.ABNORMAL,
                *peak_place(model, p, p.label),
                *peak_place(model, p, Label.ABNORMAL),
            )
            for p in predictions
        ],
        dtype=bool,
    ).reshape(-1, 5)
    return result


def peak_place(model: Model, prediction: Prediction, target: str) -> tuple[bool, bool]:
    """Whether the raw heatmap's peak lies in a corner square (CORNER of each side) and
    whether it lies in the left or right SIDE strip: where burned-in markers, arms and the
    air outside the body are."""
    size = model.spec.size
    heat = heatmap(prediction.cam_raw, target, size, (size, size))
    y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
    near = [min(v, size - 1 - v) < CORNER * size for v in (x, y)]
    return all(near), min(x, size - 1 - x) < SIDE * size


def corner_figures(peaks: np.ndarray) -> dict:
    """Where heatmap peaks fall: of the predicted class (what the viewer shows at full
    strength), by predicted class, and of the raw "abnormal" map on every image."""
    abnormal = peaks[:, 0]
    every = np.ones(len(peaks), dtype=bool)

    def share(mask: np.ndarray, column: int) -> float:
        return float(peaks[mask, column].mean()) if mask.any() else float("nan")

    return {
        "corner": CORNER,
        "corner_chance": 4 * CORNER * CORNER,
        "side": SIDE,
        "side_chance": 2 * SIDE,
        "corner_predicted_class": share(every, 1),
        "side_predicted_class": share(every, 2),
        "corner_predicted_abnormal": share(abnormal, 1),
        "side_predicted_abnormal": share(abnormal, 2),
        "corner_predicted_normal": share(~abnormal, 1),
        "side_predicted_normal": share(~abnormal, 2),
        "corner_abnormal_map_all_images": share(every, 3),
        "side_abnormal_map_all_images": share(every, 4),
    }


def image_flags(predictions: Sequence[Prediction]) -> np.ndarray:
    """Which predictions the image guard flagged (bool array)."""
    return np.array([p.ood_reason == OodReason.IMAGE for p in predictions], dtype=bool)


def flagged_share(
    model: Model,
    examples: list[Example],
    desc: str,
    quiet: bool,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> float:
    """Share of the examples the image guard flags."""
    [predictions] = predict_examples([model], examples, quiet=quiet, desc=desc, transform=transform)
    flags = image_flags(predictions)
    return float(flags.mean()) if len(flags) else float("nan")


def guard_figures(
    model: Model,
    csv_path: str | Path,
    split: str,
    flagged: np.ndarray,
    outside: str | Path,
    quiet: bool = True,
) -> dict:
    """How often the image guard fires: on the split, on the split shrunk to 64 px and
    enlarged again (the control), and on the same split of another population."""
    examples = read_examples(csv_path, split)
    outside_examples = read_examples(outside, split)
    return {
        "flagged": float(flagged.mean()),
        "n": int(len(flagged)),
        "flagged_low_resolution": flagged_share(
            model, examples, f"{split} at 64 px", quiet, low_resolution
        ),
        "outside": str(outside),
        "n_outside": len(outside_examples),
        "outside_flagged": flagged_share(model, outside_examples, f"outside {split}", quiet),
    }


def classification_report(
    labels: np.ndarray, predicted: np.ndarray, names: tuple[str, str] = CLASS_LABELS
) -> str:
    """The seed's report: scikit-learn's classification report, then the weighted figures."""
    from sklearn import metrics as sk

    labels, predicted = np.asarray(labels).astype(int), np.asarray(predicted).astype(int)
    report = sk.classification_report(
        labels, predicted, labels=[0, 1], target_names=names, digits=4, zero_division=0.0
    )
    precision, recall, f1, _ = sk.precision_recall_fscore_support(
        labels, predicted, labels=[0, 1], average="weighted", zero_division=0.0
    )
    accuracy = sk.accuracy_score(labels, predicted)
    return "\n".join(
        [
            report.rstrip(),
            "",
            f"Overall precision (weighted): {precision:.4f}",
            f"Overall recall (weighted):    {recall:.4f}",
            f"Overall F1 (weighted):        {f1:.4f}",
            f"Accuracy:                     {accuracy:.4f}",
        ]
    )


def scored_heads(scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The mask of scored examples of each head that scored any (no reports: no text head)."""
    masks = {head: ~np.isnan(scores[head]) for head in HEADS}
    return {head: mask for head, mask in masks.items() if mask.any()}


def head_metrics(model: Model, scores: dict[str, np.ndarray]) -> dict[str, dict]:
    """auc, accuracy, precision, recall, f1, ece, n for each head at the card's thresholds."""
    return {
        head: summary(scores["label"][mask], scores[head][mask], model.card.threshold(head))
        for head, mask in scored_heads(scores).items()
    }


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
        ax.text(
            j,
            i,
            str(value),
            ha="center",
            va="center",
            color="white" if value > matrix.max() / 2 else "black",
        )
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=list(CLASS_LABELS),
        yticklabels=list(CLASS_LABELS),
        xlabel="predicted",
        ylabel="true",
        title="Confusion matrix (fused)",
    )
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
    for head, mask in scored_heads(scores).items():
        fpr, tpr = roc_curve(scores["label"][mask], scores[head][mask])
        auc = roc_auc(scores["label"][mask], scores[head][mask])
        ax.plot(fpr, tpr, label=f"{head} (AUC {auc:.4f})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.legend(loc="lower right")


def _draw_reliability(ax, scores: dict[str, np.ndarray]) -> None:
    for head, mask in scored_heads(scores).items():
        rows = reliability(scores["label"][mask], scores[head][mask])
        ax.plot([r[0] for r in rows], [r[1] for r in rows], "o-", label=head)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(
        xlabel="predicted P(abnormal)",
        ylabel="observed frequency",
        title="Reliability diagram (10 bins)",
    )
    ax.legend(loc="upper left")


def evaluate(
    model: Model,
    csv_path: str | Path,
    split: str,
    out: str | Path | None = None,
    quiet: bool = True,
    outside: str | Path | None = None,
    by: str | None = None,
    shifts: bool = False,
) -> tuple[str, dict, dict]:
    """Score a split; returns the printed report, the metrics (also written to out/) and the
    extra sections for the card: heatmap corner peaks, with `outside` the guard figures and
    with `by` (a CSV column such as view) the image head's figures within each of its values
    (section ``by_<column>``), with `shifts` the figures under each site shift
    (`shift_eval`, section ``shifts``)."""
    groups = read_column(csv_path, split, by) if by else None
    scores = score_split(model, csv_path, split, quiet=quiet)
    metrics = head_metrics(model, scores)
    predicted = (scores["fused"] >= model.card.threshold("fused")).astype(int)
    lines = [
        f"split {split}: {len(scores['label'])} studies, fused image + report",
        "",
        classification_report(scores["label"], predicted),
        "",
        f"{'head':<8}{'AUC':>8}{'acc':>8}{'prec':>8}{'recall':>8}{'F1':>8}{'spec':>8}{'ECE':>8}",
    ]
    columns = ("auc", "accuracy", "precision", "recall", "f1", "specificity", "ece")
    for head, m in metrics.items():
        lines.append(f"{head:<8}" + "".join(f"{m[k]:>8.4f}" for k in columns))
    if "text" not in metrics:
        lines.append("text: no study of this split has a report")
    chance = chance_ece(scores["image"][~np.isnan(scores["image"])])
    lines.append(
        f"ECE by chance alone: a perfectly calibrated image head shows median "
        f"{chance['median']:.3f} (95th percentile {chance['p95']:.3f}) on {chance['n']} images"
    )
    lines.append(
        f"image guard: {scores['flagged'].mean():.1%} of {split} flagged as unlike "
        "the training X-rays"
    )
    corners = corner_figures(scores["peaks"])
    lines.append(
        f"heatmap peaks of the shown class: {corners['corner_predicted_class']:.1%} "
        f"in a corner (chance {corners['corner_chance']:.0%}), "
        f"{corners['side_predicted_class']:.1%} at the sides (chance "
        f"{corners['side_chance']:.0%}); raw abnormal map of every image: "
        f"{corners['corner_abnormal_map_all_images']:.1%} / "
        f"{corners['side_abnormal_map_all_images']:.1%}"
    )
    guards = None
    if outside is not None:
        guards = guard_figures(model, csv_path, split, scores["flagged"], outside, quiet)
        lines.append(
            f"  {guards['flagged_low_resolution']:.1%} of {split} shrunk to 64 px and "
            f"enlarged again; {guards['outside_flagged']:.1%} of {split} of "
            f"{guards['outside']} (n={guards['n_outside']})"
        )
    extra: dict = {"ece_by_chance": chance}
    if groups is not None:
        extra[f"by_{by}"] = subgroup_figures(
            scores["label"], scores["image"], groups, model.card.threshold("image"), str(by)
        )
        lines.extend(["", "image head " + format_subgroups(extra[f"by_{by}"])[0]])
        lines.extend(format_subgroups(extra[f"by_{by}"])[1:])
    if shifts:
        extra["shifts"] = shift_figures(model, csv_path, split)
        lines.extend(["", *format_shifts(extra["shifts"])])
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(
            json.dumps(
                {
                    "split": split,
                    **metrics,
                    "heatmap_corners": corners,
                    **({"guards": guards} if guards else {}),
                    **extra,
                },
                indent=2,
            )
        )
        try:
            written = write_plots(model, scores, out)
            lines.append("wrote " + ", ".join(str(p) for p in [out / "metrics.json", *written]))
        except ImportError:
            lines.append(f"wrote {out / 'metrics.json'} (plots need matplotlib: the train extra)")
    sections = {"heatmap": corners, **({"ood": guards} if guards else {}), **extra}
    return "\n".join(lines), metrics, sections
