"""Run info and results tables name the LLaVA distribution that is installed (`llava` from a source
checkout, `llava-torch` from PyPI) with its version, never "llava not installed" when it is."""
from importlib import metadata

import pytest

from socialfusion_plugin.evaluation import provenance


@pytest.mark.parametrize("installed, expected", [
    ({"llava-torch": "1.2.2.post1"}, {"llava-torch": "1.2.2.post1"}),
    ({"llava": "1.2.2.post1"}, {"llava": "1.2.2.post1"}),
    ({}, {"llava": None}),
])
def test_the_installed_llava_distribution_is_named(monkeypatch, installed, expected):
    def version(name):
        if name in installed:
            return installed[name]
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", version)
    monkeypatch.setattr(metadata, "packages_distributions", lambda: {"llava": list(installed)}, raising=False)
    assert provenance.llava_version() == expected
    versions = provenance.software_versions()
    text = provenance.versions_text(versions)
    name, value = next(iter(expected.items()))
    assert versions[name] == value and f"{name} {value or 'not installed'}" in text
    assert ("llava not installed" in text) == (not installed)


def test_the_versions_of_this_environment_name_its_llava():
    import importlib.util

    versions = provenance.software_versions()
    llava = {k: v for k, v in versions.items() if k in provenance.LLAVA_DISTRIBUTIONS}
    assert len(llava) == 1
    assert bool(next(iter(llava.values()))) == (importlib.util.find_spec("llava") is not None)
