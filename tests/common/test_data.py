"""Finding a track's files under a data directory by their official names."""
import os

import pytest

from common.data import DataError, find_data_files
from event_extraction.duee import FILES as DUEE_FILES
from reading_comprehension.dureader import FILES as DUREADER_FILES
from relation_extraction.duie import FILES as DUIE_FILES


def test_find_data_files_official_names(tmp_path):
    for name in ("duie_train.json", "duie_dev.json", "duie_schema.json", "duie_test2.json"):
        (tmp_path / name).write_text("")
    found = find_data_files(DUIE_FILES, str(tmp_path))
    assert os.path.basename(found["test"]) == "duie_test2.json"
    override = tmp_path / "mine.json"
    override.write_text("")
    assert find_data_files(DUIE_FILES, str(tmp_path), {"dev": str(override)})["dev"] == str(override)
    for name in ("duee_train.json", "duee_dev.json"):
        (tmp_path / name).write_text("")
    with pytest.raises(DataError, match="no schema file under .*duee_event_schema.json"):
        find_data_files(DUEE_FILES, str(tmp_path))


def test_find_data_files_lic2020_names(sample_dir):
    found = find_data_files(DUREADER_FILES, str(sample_dir / "reading_comprehension"))
    assert [os.path.basename(found[k]) for k in ("train", "dev", "test")] == ["train.json", "dev.json", "test1.json"]
