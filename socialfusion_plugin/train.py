"""`python -m socialfusion_plugin.train <LLaVA train arguments>` (also under `deepspeed --module`)."""
import sys

from socialfusion_plugin.host.launcher import main

if __name__ == "__main__":
    sys.exit(main())
