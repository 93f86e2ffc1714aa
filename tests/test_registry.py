import pytest

import socialfusion_plugin
from socialfusion_plugin.registry import Registry, RegistryError


def test_register_get_and_list_sorted():
    registry = Registry("widget")
    registry.register("zeta", 1)

    @registry.register("alpha")
    def build():
        return 2

    assert registry.names() == ["alpha", "zeta"]
    assert registry.get("zeta") == 1
    assert registry.get("alpha") is build


def test_duplicate_name_raises_and_keeps_first():
    registry = Registry("widget")
    registry.register("one", "first")
    with pytest.raises(RegistryError, match="already registered"):
        registry.register("one", "second")
    assert registry.get("one") == "first"


@pytest.mark.parametrize("bad", ["Upper", "with-dash", "1digit", "", "sp ace"])
def test_names_must_be_lowercase_identifiers(bad):
    with pytest.raises(RegistryError, match="invalid"):
        Registry("widget").register(bad, 1)


def test_unknown_name_lists_registered():
    registry = Registry("connector")
    registry.register("linear", 1)
    with pytest.raises(RegistryError, match=r"unknown connector 'mlp'; registered: linear"):
        registry.get("mlp")


def test_importing_the_package_registers_builtins():
    assert {"linear", "mlp2x_gelu", "avgpool2x2_mlp2x_gelu"} <= set(socialfusion_plugin.list_connectors())
    assert "open_clip" in socialfusion_plugin.list_vision_encoders()
    assert {"gesture", "relation", "gaze", "gaze_video", "emotion"} <= set(socialfusion_plugin.list_tasks())
