"""`python -m socialfusion_plugin.train <LLaVA train arguments>` (also under `deepspeed --module`)."""
import sys
from types import SimpleNamespace

from socialfusion_plugin.errors import one_line
from socialfusion_plugin.host_interface import active_host
from socialfusion_plugin.preflight import check_train_arguments
from socialfusion_plugin.preflight.train_checks import flag_value


def run(argv=None) -> int:
    """Check every path, and whether `--deepspeed` can run here, before LLaVA or any model loads; then
    launch. A user's mistake (a missing path, a hostile or mismatched checkpoint on resume) or a fault
    of the machine (a disk that fills up while a checkpoint is saved, a read-only output folder) is
    one line and exit 2; anything else is a bug and keeps its traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        host = active_host()
        check_train_arguments(argv, host)
        return host.train(argv)
    except Exception as err:  # noqa: BLE001 - only what one_line recognises is caught; the rest re-raises
        message = one_line(err, SimpleNamespace(output_dir=flag_value(argv, "--output_dir")))
        if message is None:
            raise
        print(f"socialfusion train: error: {message}", file=sys.stderr, flush=True)
        return 2


def main(argv) -> int:
    """Launch without the checks or the one-line errors (what `run` does after its checks)."""
    return active_host().train(argv)


if __name__ == "__main__":
    sys.exit(run())
