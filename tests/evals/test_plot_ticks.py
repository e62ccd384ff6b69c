"""Every plot can be read (issue 26): tick labels are read back from the figure objects. The
log-log plots used to label one tick per axis ("100"), the histogram had fractional document
counts and no bar edges, the reward curve fractional steps."""

from __future__ import annotations

from longform.data.report import length_histogram_figure
from longform.evals.plots import length_scatter_figure, ruler_figure
from longform.train.curves import rewards_figure


def visible_labels(ax, axis: str) -> list[str]:
    ax.figure.canvas.draw()
    low, high = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [t.get_text() for t in ticks if t.get_text() and low <= t.get_position()[0 if axis == "x" else 1] <= high]


def rows(pairs):
    return [{"length": req, "response_words": out, "language": "en"} for req, out in pairs]


def test_a_narrow_log_log_range_labels_several_ticks_on_each_axis():
    fig = length_scatter_figure(rows([(100, 120), (150, 140), (200, 260), (300, 280), (400, 380)]))
    ax = fig.axes[0]
    for axis in "xy":
        labels = visible_labels(ax, axis)
        assert len(labels) >= 3, (axis, labels)
        assert all(label.replace(",", "").isdigit() for label in labels), labels  # plain numbers, not 10^2


def test_a_wide_log_log_range_labels_the_decades_in_plain_numbers():
    fig = length_scatter_figure(rows([(100, 90), (1000, 1100), (10000, 8000), (20000, 12000)]))
    labels = visible_labels(fig.axes[0], "x")
    assert {"100", "1,000", "10,000"} <= set(labels), labels


def test_the_ruler_plot_labels_its_lengths():
    summary = {"prompts": [{"prompt": "P", "points": [[1000, 900], [2000, 1500], [5000, 2100]], "max_words": 2100}],
               "max_by_required": {1000: 900, 2000: 1500, 5000: 2100}, "max_words": 2100}
    labels = visible_labels(ruler_figure(summary).axes[0], "x")
    assert {"1,000", "2,000", "5,000"} <= set(labels), labels


def test_the_histogram_counts_whole_documents_and_draws_bar_edges():
    fig = length_histogram_figure([900, 950, 1000, 1020, 1500, 2100, 2200, 3000])
    ax = fig.axes[0]
    counts = visible_labels(ax, "y")
    assert counts and all(label.isdigit() for label in counts), counts
    assert all(patch.get_edgecolor()[:3] == (1.0, 1.0, 1.0) for patch in ax.patches)


def test_the_reward_curve_counts_whole_steps():
    rows_ = [{"step": s, "reward": 0.1 * s, "length": 0.2 * s} for s in (1, 2, 3)]
    ax = rewards_figure(["length"], rows_, window=2).axes[0]
    steps = visible_labels(ax, "x")
    assert steps and all(label.lstrip("−-").isdigit() for label in steps), steps
