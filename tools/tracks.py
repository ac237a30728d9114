"""The tracks the tools know: name -> the track module (its contract: common/track.py)."""
import importlib

NAMES = ("relation_extraction", "event_extraction", "reading_comprehension")


def track(name):
    """The track module of `name` (imported on first use: no TensorFlow)."""
    if name not in NAMES:
        raise ValueError(f"unknown track {name!r}; choose from {', '.join(NAMES)}")
    return importlib.import_module(f"{name}.track")
