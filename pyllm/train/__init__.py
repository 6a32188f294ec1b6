"""Training: ``Trainer`` and ``TrainConfig`` (trainer.py), the LR schedule and AdamW's weight-decay groups
(optim.py), checkpoints (checkpoint.py), the progress bar and metric logs (progress.py)."""
from .checkpoint import load_weights, read_checkpoint, save_checkpoint
from .optim import configure_optimizer, decay_groups, get_lr
from .progress import read_jsonl
from .trainer import TrainConfig, Trainer, plot_losses

__all__ = ["TrainConfig", "Trainer", "configure_optimizer", "decay_groups", "get_lr", "load_weights", "plot_losses",
           "read_checkpoint", "read_jsonl", "save_checkpoint"]
