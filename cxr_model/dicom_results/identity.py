"""Who wrote the result objects: our model, named as manufacturer and algorithm."""

from __future__ import annotations

from dataclasses import dataclass

from cxr_model import NOT_A_DEVICE
from cxr_model.inference.card import CARD_NAME, ModelCard, sha256_of

MANUFACTURER = "CXR Desktop (open source)"
#: Shown in the Secondary Capture and the series descriptions.
BANNER = "AI second reader \u2014 not for diagnosis"
SERIES_SR = "AI second reader result (not for diagnosis)"
SERIES_SC = "AI second reader heatmap (not for diagnosis)"


@dataclass(frozen=True)
class ModelIdentity:
    """Name, version and model card SHA-256 of the model that produced a result; the name
    starts with the model's own ("adult: CXR Desktop fusion model ..."), so the SR's algorithm
    name and the Secondary Capture say which of the installed models answered."""

    name: str
    version: str
    card_sha256: str

    @classmethod
    def of(cls, card: ModelCard) -> ModelIdentity:
        """The identity of a loaded model (`ModelCard.version` is the version)."""
        return cls(
            name=f"{card.short_name}: {card.data.get('name', 'CXR Desktop model')}",
            version=card.version,
            card_sha256=sha256_of(card.directory / CARD_NAME),
        )

    @property
    def model_name(self) -> str:
        """Manufacturer's Model Name (VR LO: at most 64 characters)."""
        return self.name[:64]

    def software_versions(self) -> list[str]:
        """Software Versions: the model version and the start of the card SHA-256 (the full
        hash is in the SR's algorithm parameters and the Secondary Capture's comments)."""
        return [f"model {self.version}"[:60], f"card sha256 {self.card_sha256[:16]}"]

    def parameters(self) -> list[str]:
        """Algorithm parameters written in the SR (full card hash, the disclaimer)."""
        return [f"model card SHA-256 {self.card_sha256}", NOT_A_DEVICE]
