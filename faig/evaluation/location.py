"""Where in the network a set of top-ranked filters sits (the paper's finding 3).

The paper: "deblurring filters are more located in the back part of the network while
denoising filters locate more uniformly". Two numbers test the two halves of that sentence:

- ``mean_depth``: mean position of the selected filters' layers, 0 = first conv, 1 = last
  conv. "Further back" means a larger value.
- ``distance_from_uniform``: total-variation distance between the selected filters' layer
  histogram and the histogram of *all* filters (what a uniformly random selection gives):
  0 = spread over the layers like random filters, 1 = in layers no random pick would hit.
  "More uniformly" means a smaller value.

Neither depends on the tiny first/last layers the way "share of the layer" does (3×64 filters
against 64×64 in the body), which is why they replace the back-half share of earlier reports.
"""
import numpy as np

from faig.evaluation.masking import num_selected


def layer_histogram(space, indices):
    """Fraction of ``indices`` in each conv layer (in ``space.entries`` order)."""
    counts = np.bincount(space.layer_of(np.asarray(indices)), minlength=len(space.entries))
    return counts / max(counts.sum(), 1)


def filter_location(space, ranking, proportion=1):
    """Location statistics of the top ``proportion`` % of ``ranking``; see the module docstring."""
    top = np.asarray(ranking)[:num_selected(space.num_filters, proportion)]
    layers = len(space.entries)
    depth = np.arange(layers) / max(layers - 1, 1)
    selected = layer_histogram(space, top)
    everywhere = np.array([e.count for e in space.entries], dtype=np.float64) / space.num_filters
    return {
        'filters': int(len(top)),
        'mean_depth': float((selected * depth).sum()),
        'random_mean_depth': float((everywhere * depth).sum()),
        'distance_from_uniform': float(0.5 * np.abs(selected - everywhere).sum()),
    }


def describe_location(name, stats):
    return (f'{name}: mean layer depth {stats["mean_depth"]:.2f} (random filters: {stats["random_mean_depth"]:.2f}), '
            f'distance from a uniform spread {stats["distance_from_uniform"]:.2f}')
