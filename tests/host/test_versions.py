import sys

import pytest

from socialfusion_plugin.host.llava.environment.versions import (
    HostEnvironmentError,
    check_peft_version,
    check_transformers_version,
    import_llava,
)


@pytest.mark.parametrize("version", ["4.37.0", "4.37.2"])
def test_supported_transformers_pass(version):
    check_transformers_version(version)


@pytest.mark.parametrize(
    "version, reason",
    [
        ("4.36.2", "needs at least 4.37"),
        ("4.38.0", "rejects the 4D attention mask"),  # found by the newest-allowed CI lane
        ("4.39.3", "rejects the 4D attention mask"),
        ("4.45.0", "generate() fails"),
        ("4.53.1", "ALL_LAYERNORM_LAYERS"),
        ("5.0.0", "ALL_LAYERNORM_LAYERS"),
    ],
)
def test_unsupported_transformers_say_why_and_what_to_install(version, reason):
    with pytest.raises(HostEnvironmentError) as err:
        check_transformers_version(version)
    assert f"transformers {version} is not supported" in str(err.value)
    assert reason in str(err.value)
    assert "pip install transformers==4.37.2" in str(err.value)


def test_new_peft_is_rejected_with_the_working_pin():
    with pytest.raises(HostEnvironmentError, match="peft==0.13.2"):
        check_peft_version("0.14.0")
    check_peft_version("0.13.2")


def test_missing_llava_is_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "llava", None)  # makes `import llava` raise ImportError
    with pytest.raises(HostEnvironmentError, match="pip install --no-deps llava-torch==1.2.2.post1"):
        import_llava()


def test_llava_swallowed_import_error_is_surfaced(monkeypatch):
    import types

    import llava.model as real_model_package

    broken = types.ModuleType("llava.model")  # like llava/model/__init__.py after its bare except
    monkeypatch.setitem(sys.modules, "llava.model", broken)
    monkeypatch.setitem(sys.modules, "llava.model.language_model.llava_llama", None)
    with pytest.raises(HostEnvironmentError, match="its model code does not import"):
        import_llava()
    assert real_model_package.LlavaLlamaForCausalLM  # the real package is untouched
