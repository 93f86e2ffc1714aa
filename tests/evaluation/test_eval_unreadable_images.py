"""An image eval cannot read (empty, corrupt, a decompression bomb) is one error naming the data file,
the record and the image, never PIL's traceback."""
import pytest
from PIL import Image

from socialfusion_plugin.evaluation.records import EvalDataError, open_image


@pytest.mark.parametrize("content, expected", [
    (b"", "cannot be read (UnidentifiedImageError"),
    (b"\x89PNG\r\n\x1a\nnot really a png", "cannot be read ("),
    (b"GIF89a" + b"\x00" * 3, "cannot be read ("),
])
def test_unreadable_image_bytes_name_the_file_record_and_image(tmp_path, content, expected):
    image = tmp_path / "broken.png"
    image.write_bytes(content)
    with pytest.raises(EvalDataError) as err:
        open_image(image, "gesture_test.json record 'g1'")
    assert str(err.value).startswith(f"gesture_test.json record 'g1': image {image} {expected}")


def test_a_decompression_bomb_is_refused_by_name(tmp_path, monkeypatch):
    image = tmp_path / "bomb.png"
    Image.new("L", (64, 64)).save(image)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64*64 > 2 * 100: PIL raises, not warns
    with pytest.raises(EvalDataError) as err:
        open_image(image, "gesture_test.json record 'g2'")
    assert str(err.value).startswith(f"gesture_test.json record 'g2': image {image} is refused as a decompression bomb")


def test_a_good_image_opens_as_rgb(tmp_path):
    image = tmp_path / "ok.png"
    Image.new("L", (4, 4)).save(image)
    assert open_image(image, "x").mode == "RGB"
