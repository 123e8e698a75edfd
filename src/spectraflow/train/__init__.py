"""Training plumbing shared by the model families: devices, precision, the loop, checkpoints (tiled inference is
:func:`spectraflow.blocks.map_tiles`)."""

from ._checkpoint import checkpoint_complete, load_weights_only, read_checkpoint, read_training_state, save_checkpoint
from ._device import select_device
from ._loop import SCHEDULES, History, TrainConfig, autocast_dtype, data_fingerprint, fit

__all__ = ["select_device", "TrainConfig", "SCHEDULES", "History", "fit", "autocast_dtype", "data_fingerprint",
           "save_checkpoint", "read_checkpoint", "read_training_state", "load_weights_only", "checkpoint_complete"]
