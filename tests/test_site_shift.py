"""Site-shift augmentation on real X-rays: seeded, shape and range kept, every transform
changes the image, and the batch function applies them in the display domain."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra")

from cxr_model.imaging.preprocess import InputSpec, preprocess  # noqa: E402
from cxr_model.imaging.reader import read_image  # noqa: E402
from cxr_model.training.site_shift import TRANSFORMS, equalise, site_shift  # noqa: E402
from cxr_model.training.train import augment  # noqa: E402

SPEC = InputSpec(size=128)


@pytest.fixture(scope="module")
def batch(sample_images) -> torch.Tensor:
    """Real X-rays preprocessed as the model sees them (normalised, 128 px)."""
    return torch.stack(
        [torch.from_numpy(preprocess(read_image(p), SPEC)) for p in sample_images[:4]]
    )


def unit(batch: torch.Tensor) -> torch.Tensor:
    return (batch * SPEC.std + SPEC.mean).clamp(0, 1)


def test_site_shift_is_seeded(batch):
    a = site_shift(batch, torch.Generator().manual_seed(3), SPEC)
    b = site_shift(batch, torch.Generator().manual_seed(3), SPEC)
    c = site_shift(batch, torch.Generator().manual_seed(4), SPEC)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_site_shift_keeps_shape_and_the_display_range(batch):
    out = site_shift(batch, torch.Generator().manual_seed(0), SPEC)
    assert out.shape == batch.shape and out.dtype == batch.dtype
    display = out * SPEC.std + SPEC.mean
    assert display.min() >= -1e-5 and display.max() <= 1 + 1e-5
    assert not torch.equal(out, batch)


@pytest.mark.parametrize(("name", "transform"), [(n, t) for n, t, _ in TRANSFORMS])
def test_each_transform_changes_the_image_and_keeps_shape_and_range(batch, name, transform):
    image = unit(batch)[0]
    for seed in range(3):
        out = transform(image, torch.Generator().manual_seed(seed))
        assert out.shape == image.shape, name
        assert out.min() >= 0 and out.max() <= 1 + 1e-6, name
        assert (out - image).abs().mean() > 1e-3, f"{name} left the image unchanged"


def test_equalise_flattens_the_histogram(batch):
    image = unit(batch)[0]
    out = equalise(image, torch.Generator().manual_seed(0))
    # equalisation spreads the grey levels: the quartiles move towards 0.25 / 0.75
    quart = torch.tensor([0.25, 0.75])
    before = torch.quantile(image.flatten(), quart)
    after = torch.quantile(out.flatten(), quart)
    assert (after - quart).abs().sum() < (before - quart).abs().sum()


def test_augment_uses_site_shift_only_when_given_a_spec(batch):
    plain = augment(batch, torch.Generator().manual_seed(5))
    shifted = augment(batch, torch.Generator().manual_seed(5), SPEC)
    assert plain.shape == shifted.shape == batch.shape
    assert not torch.equal(plain, shifted)
