"""`python -m socialfusion_plugin.train <LLaVA train arguments>` (also under `deepspeed --module`)."""
import sys

from socialfusion_plugin.host_interface import active_host
from socialfusion_plugin.preflight import PreflightError, check_train_arguments


def run(argv=None) -> int:
    """Check every path first (before LLaVA or any model loads), then launch."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        check_train_arguments(argv)
    except PreflightError as err:
        print(f"socialfusion train: error: {err}", file=sys.stderr)
        return 2
    return main(argv)


def main(argv) -> int:
    return active_host().train(argv)


if __name__ == "__main__":
    sys.exit(run())
