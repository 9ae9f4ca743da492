"""The fusion network (PyTorch): ResNet-18 image branch + feed-forward text branch.

One forward returns the fused logit, an image-only and a text-only logit, the raw
class-activation map, the pooled image features and the two out-of-distribution scores.
The fused head is linear in the pooled image features, so Grad-CAM has the closed form
ReLU(sum_k w_k A_k) (DESIGN.md).

The two guards (fitted after training, see `cxr_model.training.guards`):
- `ood_score`: squared Mahalanobis distance of the pooled layer4 features to the training
  set (catches what is not a chest X-ray at all);
- `population_score`: a linear detector on the channel means and standard deviations of all
  four ResNet stages (catches chest X-rays of another population, e.g. adults).
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet18

TEXT_MODES = ("sequence", "bag")
OUTPUT_NAMES = (
    "fused_logit",
    "image_logit",
    "text_logit",
    "cam",
    "features",
    "ood_score",
    "population_score",
)
STAGE_CHANNELS = (64, 128, 256, 512)
#: Width of the population statistics: mean and standard deviation of each stage's channels.
POPULATION_WIDTH = 2 * sum(STAGE_CHANNELS)


def text_input_width(text_mode: str, vocab_size: int, max_len: int) -> int:
    """Width of the text input vector for a text mode."""
    if text_mode == "sequence":
        return max_len
    if text_mode == "bag":
        return vocab_size
    raise ValueError(f"unknown text mode {text_mode!r}; expected one of {TEXT_MODES}")


class FusionNet(nn.Module):
    """ResNet-18 (1-channel) + Linear-ReLU-Linear text encoder + linear fusion heads.

    Inputs: image (B,1,S,S), text (B,T) float, has_report (B,1) in {0,1}.
    When has_report is 0 the fused logit is the image-only logit, so a missing report
    never leaks into the answer.
    """

    def __init__(
        self,
        text_mode: str,
        vocab_size: int,
        max_len: int = 100,
        text_hidden: int = 128,
        text_dim: int = 64,
    ) -> None:
        super().__init__()
        self.text_mode = text_mode
        width = text_input_width(text_mode, vocab_size, max_len)
        backbone = resnet18(weights=None)
        backbone.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        backbone.fc = nn.Identity()
        self.backbone = backbone
        self.text_encoder = nn.Sequential(
            nn.Linear(width, text_hidden), nn.ReLU(), nn.Linear(text_hidden, text_dim)
        )
        self.fused_head = nn.Linear(512 + text_dim, 1)
        self.image_head = nn.Linear(512, 1)
        self.text_head = nn.Linear(text_dim, 1)
        # Out-of-distribution scoring: squared Mahalanobis distance of the pooled features,
        # ||(f - mean) @ whitener||^2, fitted on training features after training.
        self.register_buffer("ood_mean", torch.zeros(512))
        self.register_buffer("ood_whitener", torch.eye(512))
        # Population detector: logit = population_stats @ weight + bias (zero = never fires).
        self.register_buffer("population_weight", torch.zeros(POPULATION_WIDTH))
        self.register_buffer("population_bias", torch.zeros(1))

    def stage_maps(self, image: torch.Tensor) -> list[torch.Tensor]:
        """Activations of the four ResNet stages, layer1 .. layer4."""
        b = self.backbone
        x = b.maxpool(b.relu(b.bn1(b.conv1(image))))
        maps = []
        for stage in (b.layer1, b.layer2, b.layer3, b.layer4):
            x = stage(x)
            maps.append(x)
        return maps

    def feature_maps(self, image: torch.Tensor) -> torch.Tensor:
        """layer4 activations (B,512,h,w)."""
        return self.stage_maps(image)[-1]

    def image_weights(self, has_report: torch.Tensor) -> torch.Tensor:
        """Per-sample weights (B,512) of the fused logit on the pooled image features."""
        w_fused = self.fused_head.weight[0, :512]
        w_image = self.image_head.weight[0]
        return has_report * w_fused + (1 - has_report) * w_image

    def forward(self, image: torch.Tensor, text: torch.Tensor, has_report: torch.Tensor):
        stages = self.stage_maps(image)
        maps = stages[-1]
        pooled = maps.mean(dim=(2, 3))
        text_features = self.text_encoder(text) * has_report
        image_logit = self.image_head(pooled)
        text_logit = self.text_head(text_features)
        fused_with_text = self.fused_head(torch.cat([pooled, text_features], dim=1))
        fused_logit = has_report * fused_with_text + (1 - has_report) * image_logit
        cam = torch.einsum("bk,bkhw->bhw", self.image_weights(has_report), maps)
        centred = (pooled - self.ood_mean) @ self.ood_whitener
        ood_score = (centred * centred).sum(dim=1, keepdim=True)
        population_score = (population_stats(stages) @ self.population_weight)[
            :, None
        ] + self.population_bias
        return fused_logit, image_logit, text_logit, cam, pooled, ood_score, population_score


def population_stats(stages: list[torch.Tensor]) -> torch.Tensor:
    """(B, POPULATION_WIDTH): per stage, the channel means then the channel standard
    deviations over the spatial positions (Lee et al. 2018 use such per-layer statistics)."""
    parts = []
    for maps in stages:
        mean = maps.mean(dim=(2, 3))
        centred = maps - mean[:, :, None, None]
        parts += [mean, (centred * centred).mean(dim=(2, 3)).sqrt()]
    return torch.cat(parts, dim=1)


class FusedLogitOnly(nn.Module):
    """One-input wrapper for pytorch-grad-cam: image -> fused logit (B,1), text fixed."""

    def __init__(self, net: FusionNet, text: torch.Tensor, has_report: torch.Tensor) -> None:
        super().__init__()
        self.net = net
        self.text = text
        self.has_report = has_report

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image, self.text, self.has_report)[0]
