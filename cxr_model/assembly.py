"""Program assembly: what the CLI and the workers put together that inference must not import.

The PyTorch backend lives with the training code (it needs torch); a program asking for it by
name (`cxr --backend torch`) registers it here before loading a model.
"""

from __future__ import annotations

from cxr_model.inference.backends import register_backend
from cxr_model.vocabulary import BackendName


def use_backend(name: str) -> None:
    """Register backend `name` if it is one that inference does not carry itself."""
    if name == BackendName.TORCH:
        from cxr_model.training.torch_backend import TorchBackend

        register_backend(BackendName.TORCH, TorchBackend)
