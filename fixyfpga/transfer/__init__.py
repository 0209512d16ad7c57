"""FixyNN transfer learning: one shared, frozen front-end; one fine-tuned back-end per target dataset.

    fixyfpga transfer CONFIG.yaml          (python -m fixyfpga.transfer CONFIG.yaml)

config   what a transfer config may say, its validation, where runs read and write
arms     the protocol's steps: both arms' models, their training by one rule, the bit-exact hardware check
cut      the paper's bar, each cut's fit on the board (the build's own fit check) and the cut choice;
         re-judging a finished run (--report)
run      the protocol (its text is written into every summary.json) and the run that writes summary.json
report   the markdown tables and plots of a run
cli      the command line
"""

from fixyfpga.transfer.arms import (build_for, checked_hardware, hardware_check, load_capped, train_baseline,
                                    train_fixynn)
from fixyfpga.transfer.cli import add_transfer_arguments, cmd_transfer, main
from fixyfpga.transfer.config import (DEFAULT_CONFIG, QUICK_CONFIG, RESULTS_ROOT, ModelSpec, SweepSpec, TransferConfig,
                                      load_config)
from fixyfpga.transfer.run import goal_check, run_transfer

__all__ = ["DEFAULT_CONFIG", "QUICK_CONFIG", "RESULTS_ROOT", "ModelSpec", "SweepSpec", "TransferConfig",
           "add_transfer_arguments", "build_for", "checked_hardware", "cmd_transfer", "goal_check", "hardware_check",
           "load_capped", "load_config", "main", "run_transfer", "train_baseline", "train_fixynn"]
