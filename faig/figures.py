"""Figures: proportion curves, filter distribution, contact sheets (modulation, masking)."""
import io

import cv2
import matplotlib
import matplotlib.text

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from faig.data.image_io import shown_text, write_bytes  # noqa: E402
from faig.attribution.methods import METHODS as RANKING_METHODS  # noqa: E402



def save_figure(fig, path, dpi=130, comment=None):
    """Write ``fig`` as PNG (whole, in one write); ``comment`` goes into the file's text (a PNG
    ``Comment`` chunk), e.g. what a figure was made from when that is not what its inputs recorded."""
    for text in fig.findobj(matplotlib.text.Text):  # a name that is not UTF-8 (a data set folder's) shows as \xff
        text.set_text(shown_text(text.get_text()))
    comment = shown_text(comment) if comment else comment
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=dpi, bbox_inches='tight', metadata={'Comment': comment} if comment else None)
    plt.close(fig)
    write_bytes(path, buffer.getvalue())
    return path


def plot_proportion_curves(results, methods, proportions, title, path, degradations=('blur', 'noise')):
    """Output difference vs proportion: 2x2 panels (input x masked filters), one line per method."""
    title = shown_text(title) if title else title  # (a data set or image name that is not UTF-8)
    from faig.evaluation.comparison import panel_title, panels
    fig, axes = plt.subplots(2, 2, figsize=(9, 7))
    for ax, (deg, masked, better) in zip(axes.flat, panels(degradations)):
        label = f'{panel_title(deg, masked)}\n({better} is better)'
        for method in methods:
            spec = RANKING_METHODS.get(method)
            name, color, marker = (spec.label, spec.color, spec.marker) if spec else (method, None, 'o')
            ax.plot(proportions, [results[(method, p, masked, deg)] for p in proportions], marker=marker,
                    color=color, label=name)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel('masked filters (%)')
        ax.set_ylabel('output difference')
        ax.set_xticks(list(proportions))
        ax.grid(alpha=0.3)
    axes[0, 0].legend()
    fig.suptitle(f'{title}\noutput difference = MSE(gradient map of masked output, of target output) × 1000')
    fig.tight_layout()
    return save_figure(fig, path)


def plot_filter_distribution(space, rankings, proportion, title, path, short_names=None, note=None):
    """Where the top-p % filters sit: a per-layer map and a per-layer share chart. ``note`` (e.g. rankings
    used with other models) is printed under the chart and kept in the PNG's text."""
    title = shown_text(title) if title else title  # (a data set or image name that is not UTF-8)
    from faig.evaluation.masking import num_selected
    n = num_selected(space.num_filters, proportion)
    layers = np.arange(len(space.entries))
    labels = short_names or [e.name.replace('.weight', '') for e in space.entries]
    fig, (ax_map, ax_bar) = plt.subplots(2, 1, figsize=(max(8, 0.35 * len(layers)), 8), sharex=True)
    from faig.specs import degradation
    width = 0.36
    for i, (deg, ranking) in enumerate(rankings.items()):
        color, offset = ('tab:blue', 'tab:orange')[i % 2], (-0.18, 0.18)[i % 2]
        name = f'{degradation(deg).function} filters'

        top = np.asarray(ranking[:n])
        layer = space.layer_of(top)
        starts = np.array([space.entries[i].offset for i in layer])
        counts = np.array([space.entries[i].count for i in layer])
        position = (top - starts) / counts
        ax_map.scatter(layer + offset, position, s=4, alpha=0.5, color=color, label=name)
        per_layer = np.bincount(layer, minlength=len(layers))
        share = 100 * per_layer / np.array([e.count for e in space.entries])
        ax_bar.bar(layers + offset, share, width=width, color=color, label=name)
    ax_map.set_ylabel('position within layer\n(filter index / filters in layer)')
    ax_map.set_ylim(-0.02, 1.02)
    ax_map.legend(loc='upper left', markerscale=4)
    ax_map.set_title(f'{title}: top {proportion}% filters ({n} of {space.num_filters})')
    ax_bar.set_ylabel(f'share of the layer\'s filters in the top {proportion}% (%)')
    ax_bar.set_xticks(layers)
    ax_bar.set_xticklabels(labels, rotation=90, fontsize=8)
    ax_bar.set_xlabel('layer (input → output)')
    ax_bar.legend(loc='upper left')
    for ax in (ax_map, ax_bar):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    if note:
        fig.text(0.01, -0.01, f'note: {note}', fontsize=8, color='tab:red', va='top', wrap=True)
    return save_figure(fig, path, comment=note)


def contact_sheet(rows, column_labels, path, cell_width=180, title=None):
    """A labelled grid of images. ``rows``: list of (row label, list of BGR uint8 images)."""
    title = shown_text(title) if title else title  # (a data set or image name that is not UTF-8)
    n_cols = len(column_labels)
    first = rows[0][1][0]
    aspect = first.shape[0] / first.shape[1]
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(n_cols * cell_width / 80, len(rows) * cell_width * aspect / 80 +
                                                         0.6), squeeze=False)
    for r, (row_label, images) in enumerate(rows):
        for c, img in enumerate(images):
            ax = axes[r, c]
            ax.imshow(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(column_labels[c], fontsize=9)
            if c == 0:
                ax.set_ylabel(row_label, fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def difference_map(image, reference):
    """|image − reference| per pixel, the mean over the colour channels (in the images' units, e.g. 8-bit levels)."""
    diff = np.abs(np.asarray(image, dtype=np.float64) - np.asarray(reference, dtype=np.float64))
    return diff.mean(axis=2) if diff.ndim == 3 else diff


def masking_sheet(rows, column_labels, title=None, cell_width=170):
    """The masking figure: per input, its row of images (BGR uint8) and under it the difference maps
    |masked − target| of the cells that have one, on one colour scale per row with its colorbar -- where masking
    changes the output, not only what the output looks like.

    ``rows``: [(row label, images, maps)], ``maps`` aligned with ``images`` (None: no map under that image,
    e.g. the input and the target). Returns the Figure (:func:`save_figure` writes it)."""
    n_cols = len(column_labels)
    first = rows[0][1][0]
    aspect = first.shape[0] / first.shape[1]
    fig, axes = plt.subplots(2 * len(rows), n_cols, squeeze=False, layout='constrained',
                             figsize=(n_cols * cell_width / 80 + 1.2, 2 * len(rows) * cell_width * aspect / 80 + 0.6))
    for r, (row_label, images, maps) in enumerate(rows):
        image_axes, map_axes = axes[2 * r], axes[2 * r + 1]
        for c, img in enumerate(images):
            image_axes[c].imshow(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), interpolation='nearest')
        shown = [(c, m) for c, m in enumerate(maps) if m is not None]
        top = max([float(np.max(m)) for _, m in shown] + [1e-12])
        drawn = [map_axes[c].imshow(m, cmap='magma', vmin=0, vmax=top, interpolation='nearest') for c, m in shown]
        for c, ax in enumerate((*image_axes, *map_axes)):
            ax.set_xticks([])
            ax.set_yticks([])
        for c in set(range(n_cols)) - {c for c, _ in shown}:
            map_axes[c].axis('off')
        if r == 0:
            for c, ax in enumerate(image_axes):
                ax.set_title(column_labels[c], fontsize=9)
        image_axes[0].set_ylabel(row_label, fontsize=9)
        if shown:  # the label on the colorbar: a y-label would push the map columns apart
            fig.colorbar(drawn[0], ax=[map_axes[c] for c, _ in shown], shrink=0.9,
                         label='|masked − target|\n(8-bit levels, mean over channels)')
    if title:
        fig.suptitle(title)
    return fig


def upscale_nearest(img, shape):
    """LR input shown at the output size (nearest neighbour, so the pixels stay visible)."""
    return cv2.resize(img, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def crop_center(img, size):
    h, w = img.shape[:2]
    size = min(size, h, w)
    y, x = (h - size) // 2, (w - size) // 2
    return img[y:y + size, x:x + size]


def plot_recovered_shares(study, path, net, degs=('blur', 'noise')):
    """Bar chart of a retraining study (faig.evaluation.retraining): the recovered share of the target's gain
    per selection, one group per function."""
    from faig.evaluation.retraining import FUNCTION_TITLES, LABELS, SELECTIONS, shares
    fig, ax = plt.subplots(figsize=(7, 3.2))
    colors = {m: spec.color for m, spec in RANKING_METHODS.items()}
    colors['random_per_layer'] = 'tab:olive'
    width = 0.8 / len(SELECTIONS)
    for k, selection in enumerate(SELECTIONS):
        values = [shares(study, d).get(selection, (np.nan, {}))[0] for d in degs]
        ax.bar(np.arange(len(degs)) + (k - (len(SELECTIONS) - 1) / 2) * width, values, width, label=LABELS[selection],
               color=colors.get(selection))
    ax.set_xticks(np.arange(len(degs)), [f'{FUNCTION_TITLES[d][0]} filters\n({FUNCTION_TITLES[d][1]} set)' for d in degs])
    ax.set_ylabel("recovered share of\nthe target's gain")
    ax.axhline(0, color='k', lw=0.5)
    ax.set_title(f'{net}: retraining only the selected 1 % of filters from the baseline', fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path)
