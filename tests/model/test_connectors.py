import pytest
import torch

from socialfusion_plugin.model.connectors import PooledMLPConnector, build_connector


@pytest.mark.parametrize("name", ["linear", "mlp2x_gelu", "avgpool2x2_mlp2x_gelu"])
def test_each_connector_maps_visual_tokens_to_language_width(name):
    connector = build_connector(name, mm_hidden_size=48, hidden_size=32)
    tokens = torch.randn(2, 16, 48)
    out = connector(tokens)
    expected_tokens = 4 if name.startswith("avgpool") else 16
    assert out.shape == (2, expected_tokens, 32)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in connector.parameters())


def test_llava_compatible_state_dict_keys():
    # LLaVA-1.5 projector checkpoints use exactly these keys (mm_projector.0.* / mm_projector.2.*).
    assert set(build_connector("mlp2x_gelu", 8, 4).state_dict()) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert set(build_connector("linear", 8, 4).state_dict()) == {"weight", "bias"}


def test_pooling_averages_2x2_blocks():
    connector = PooledMLPConnector(1, 1)
    grid = torch.arange(16, dtype=torch.float32).reshape(1, 16, 1)  # 4x4 grid, row-major
    captured = {}
    connector.mlp.register_forward_pre_hook(lambda module, args: captured.setdefault("x", args[0]))
    connector(grid)
    # blocks: [0,1,4,5] [2,3,6,7] [8,9,12,13] [10,11,14,15]
    assert captured["x"].flatten().tolist() == [2.5, 4.5, 10.5, 12.5]


def test_pooling_keeps_a_leading_cls_token():
    connector = PooledMLPConnector(1, 1)
    tokens = torch.cat([torch.full((1, 1, 1), 100.0), torch.arange(16.0).reshape(1, 16, 1)], dim=1)
    captured = {}
    connector.mlp.register_forward_pre_hook(lambda module, args: captured.setdefault("x", args[0]))
    connector(tokens)
    assert captured["x"].flatten().tolist() == [100.0, 2.5, 4.5, 10.5, 12.5]


def test_odd_grid_pools_to_ceiling_and_non_square_is_an_error():
    connector = PooledMLPConnector(4, 4)
    assert connector(torch.randn(1, 49, 4)).shape == (1, 16, 4)  # 7x7 -> 4x4
    with pytest.raises(ValueError, match="square patch grid"):
        connector(torch.randn(1, 15, 4))
