"""`socialfusion train` (the CLI sub-command) that also records, per rank, which dataset indices the
rank read: one line per index in $SOCIALFUSION_TEST_SAMPLE_LOG.rank<RANK>. Multi-rank tests run it under
torchrun or the deepspeed launcher (`-m record_samples_train`, tests/host on PYTHONPATH) to check that
the ranks see disjoint samples that together make the whole epoch. Test-only: LLaVA's dataset class is
wrapped before the plugin's launcher builds its dataset (the plugin's dataset subclasses it and keeps
its __getitem__)."""
import os
import sys


def record_reads() -> None:
    import socialfusion_plugin  # noqa: F401 - the compatibility shims before LLaVA imports
    from socialfusion_plugin.host.llava.training.install import install_train_hooks

    train_module = install_train_hooks()
    dataset_class = train_module.LazySupervisedDataset
    original = dataset_class.__getitem__
    log = f"{os.environ['SOCIALFUSION_TEST_SAMPLE_LOG']}.rank{os.environ.get('RANK', '0')}"

    def getitem(self, index):
        with open(log, "a") as handle:
            handle.write(f"{index}\n")
        return original(self, index)

    dataset_class.__getitem__ = getitem


if __name__ == "__main__":
    if os.environ.get("SOCIALFUSION_TEST_SAMPLE_LOG"):
        record_reads()
    from socialfusion_plugin.cli.main import main

    sys.exit(main(["train", *sys.argv[1:]]))
