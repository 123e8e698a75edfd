"""Training and inference plumbing shared by the model families: devices, precision, checkpoints."""

from ._device import select_device

__all__ = ["select_device"]
