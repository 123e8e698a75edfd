"""Training and inference plumbing shared by the model families: devices, precision, the loop, checkpoints,
tiled inference."""

from ._checkpoint import load_weights_only, read_checkpoint, read_training_state, save_checkpoint
from ._device import select_device
from ._loop import History, TrainConfig, autocast_dtype, data_fingerprint, fit
from ._tiled import tile_for_budget, tiled_apply

__all__ = ["select_device", "TrainConfig", "History", "fit", "autocast_dtype", "data_fingerprint", "save_checkpoint",
           "read_checkpoint", "read_training_state", "load_weights_only", "tiled_apply", "tile_for_budget"]
