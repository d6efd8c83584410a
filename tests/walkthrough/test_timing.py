"""SPEC A9: times to a step as the page writes them, and the histogram's fixed bins."""

from __future__ import annotations

import pytest

from walkthrough import timing


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "–"),
        (0.0, "0.0 s"),
        (0.4, "0.4 s"),  # was "0 s": a quick step no longer reads as no time at all
        (7.25, "7.2 s"),
        (12.6, "13 s"),
        (59.4, "59 s"),
        (60, "1 min 0 s"),
        (750, "12 min 30 s"),
        (7500, "2 h 5 min"),
        (356400, "4 d 3 h"),
    ],
)
def test_duration_reads_sub_minute_times_to_the_second(seconds, text):
    assert timing.duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "index"),
    [(0, 0), (9.9, 0), (10, 1), (59, 2), (60, 3), (3599, 6), (3600, 7), (7 * 86400 - 1, 11), (7 * 86400, 12)],
)
def test_bins_have_inclusive_lower_edges(seconds, index):
    assert timing.bin_of(seconds) == index


def test_bin_labels_cover_a_second_to_a_week():
    labels = timing.bin_labels()
    assert len(labels) == len(timing.EDGES) + 1
    assert (labels[0], labels[3], labels[-1]) == ("0 s–10 s", "1 min–3 min", "≥ 7 d")


def test_the_histogram_is_an_svg_with_a_title_per_bar():
    counts = [0] * (len(timing.EDGES) + 1)
    counts[2] = 4
    svg = timing.histogram_svg(counts, title="Door answered <b>")
    assert svg.startswith('<svg class="hist" role="img"') and svg.count("<rect") == len(counts)
    assert "<title>30 s–1 min: 4</title>" in svg and "&lt;b&gt;" in svg and "<b>" not in svg
