"""The demo's default amount of training, in a module light enough for `socialfusion --help`."""

STEPS = 300  # joint training steps
SINGLE_TASK_STEPS = 60  # steps of each single-task baseline
