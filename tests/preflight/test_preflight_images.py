"""The image sample: seeded, drawn over the whole record file, plus every image folder checked."""
import os

from preflight_helpers import image_folder, llava_records, write_json

from socialfusion_plugin.preflight.data_files import SAMPLE_SIZE, check_record_file, scan_images
from socialfusion_plugin.preflight.report import PreflightReport


def join(folder):
    return lambda image, record, index: os.path.join(folder, image)


def test_the_sample_is_the_first_image_plus_a_seeded_draw_over_the_whole_file():
    records = list(enumerate(llava_records(500)))
    first = scan_images(records, join("/data"), seed=0)
    assert len(first.sample) == SAMPLE_SIZE + 1 and first.sample[0] == ("/data/img_000.png", "r000")
    assert scan_images(records, join("/data"), seed=0).sample == first.sample
    assert scan_images(records, join("/data"), seed=1).sample != first.sample
    drawn = sorted(int(record_id[1:]) for _, record_id in first.sample[1:])
    assert drawn[-1] > 250  # drawn from the whole file, not its beginning
    assert first.images == 500 and first.relative == 500 and first.folders() == {"/data": (500, "r000")}


def test_a_folder_missing_anywhere_in_the_file_is_found(tmp_path):
    folder = image_folder(tmp_path / "images", count=10)
    records = llava_records(10) + llava_records(5000, image=lambda i: f"img_{i % 10:03d}.png", prefix="x")
    records.append({"id": "last", "image": "vg/VG_100K_2/1.jpg", "conversations": []})
    data = write_json(tmp_path / "data.json", records)
    report = PreflightReport()
    check_record_file(report, "--data_path", data, "--image_folder", folder, join(str(folder)))
    assert report.lines == [f"--image_folder {folder}: 1 image folder(s) used by --data_path {data} do not exist: "
                            f"{folder / 'vg' / 'VG_100K_2'} (1 image(s), e.g. record last)"]


def test_text_only_records_and_absolute_paths_need_no_image_folder(tmp_path):
    folder = image_folder(tmp_path / "images", count=2)
    records = [{"id": "t", "conversations": []}, {"id": "a", "image": str(folder / "img_001.png"), "conversations": []}]
    data = write_json(tmp_path / "data.json", records)
    report = PreflightReport()
    check_record_file(report, "--data_path", data, "--image_folder", tmp_path / "absent", join(str(tmp_path / "absent")))
    assert report.lines == []
