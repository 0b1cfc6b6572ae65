"""The format registry: explicit priorities decide detection order, one `Format` protocol."""

from __future__ import annotations

import pytest

from instructune.data.formats import FORMATS, Format
from instructune.data.formats._format import registry


def _detect(keys):
    return None


def _read(row):
    return []


def test_detection_order_is_the_priority_order():
    assert list(FORMATS) == ["oasst_tree", "oasst_messages", "dolly", "records", "alpaca", "openai",
                             "sharegpt", "self_instruct", "flan", "p3", "question_answer", "prompt_response",
                            "input_output", "flan_cot"]
    assert [f.priority for f in FORMATS.values()] == sorted(f.priority for f in FORMATS.values())


def test_registry_sorts_by_priority_not_by_listing():
    a = Format("a", "x", priority=2, detect=_detect, to_records=_read)
    b = Format("b", "y", priority=1, detect=_detect, to_records=_read)
    assert list(registry([a, b])) == ["b", "a"]


def test_registry_rejects_shared_priorities_and_names():
    a = Format("a", "x", priority=1, detect=_detect, to_records=_read)
    with pytest.raises(ValueError, match="share priority 1"):
        registry([a, Format("b", "y", priority=1, detect=_detect, to_records=_read)])
    with pytest.raises(ValueError, match="share a name"):
        registry([a, Format("a", "y", priority=2, detect=_detect, to_records=_read)])


@pytest.mark.parametrize("hooks", [{}, {"detect": _detect, "detect_file": _detect}])
def test_a_format_sets_exactly_one_detection_hook(hooks):
    with pytest.raises(TypeError, match="detect, detect_file"):
        Format("a", "x", priority=1, to_records=_read, **hooks)


@pytest.mark.parametrize("hooks", [{}, {"to_records": _read, "iter_file": _read}])
def test_a_format_sets_exactly_one_reading_hook(hooks):
    with pytest.raises(TypeError, match="to_records, iter_file"):
        Format("a", "x", priority=1, detect=_detect, **hooks)
