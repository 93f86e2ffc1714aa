"""Tiny offline assets and the end-to-end demo (`socialfusion demo`): everything runs on a CPU with
no downloads, through the same code paths a 7B run uses."""
