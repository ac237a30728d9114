"""The layout's rules, checked: the library (common/) never imports a track, no module outgrows a reading, the
tools reach the tracks only through their contract."""
import ast
import glob
import os

TRACKS = ("relation_extraction", "event_extraction", "reading_comprehension")


def imported_modules(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_common_imports_no_track():
    found = {path: module for path in glob.glob(os.path.join("common", "*.py")) for module in imported_modules(path)
             if module.split(".")[0] in TRACKS + ("tools", "benchmarks", "synthetic", "tests")}
    assert not found, found


def test_no_module_over_450_lines_outside_benchmarks_and_synthetic():
    paths = [p for p in glob.glob("**/*.py", recursive=True)
             if not p.startswith(("benchmarks", "synthetic", "tests", ".venv", "outputs"))]
    long = {p: n for p in paths if (n := sum(1 for _ in open(p, encoding="utf-8"))) > 450}
    assert paths and not long, long


def test_tools_use_the_tracks_through_their_contract():
    """tools/ import a track's package only through tools.tracks (its track.py)."""
    found = {path: module for path in glob.glob(os.path.join("tools", "*.py")) for module in imported_modules(path)
             if module.split(".")[0] in TRACKS}
    assert not found, found
