import os

from common.files import link_atomically, write_atomically


def test_a_linked_file_keeps_its_content_when_the_source_is_replaced(tmp_path):
    source, kept = tmp_path / "model.weights.h5", tmp_path / "snapshots" / "epoch2.weights.h5"
    source.write_bytes(b"epoch 2")
    link_atomically(str(source), str(kept))
    assert kept.read_bytes() == b"epoch 2" and os.path.samefile(source, kept)  # one file on disk, not two
    write_atomically(str(source), lambda f: f.write(b"epoch 3"))  # how every writer here replaces a file
    assert source.read_bytes() == b"epoch 3" and kept.read_bytes() == b"epoch 2"
    link_atomically(str(source), str(kept))  # over an existing file
    assert kept.read_bytes() == b"epoch 3"
    assert sorted(os.listdir(kept.parent)) == ["epoch2.weights.h5"]  # no temporary file stays


def test_without_hard_links_the_file_is_copied(tmp_path, monkeypatch):
    def no_links(*args):
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    source, kept = tmp_path / "a.h5", tmp_path / "b.h5"
    source.write_bytes(b"weights")
    link_atomically(str(source), str(kept))
    assert kept.read_bytes() == b"weights" and not os.path.samefile(source, kept)
    assert sorted(os.listdir(tmp_path)) == ["a.h5", "b.h5"]
