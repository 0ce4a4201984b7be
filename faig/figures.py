"""Figures: proportion curves, filter distribution, contact sheets (modulation, masking), retraining shares.

Each returns a matplotlib Figure; the caller shows, saves (:func:`save_figure`) or closes it. The ``plot_*``
functions write one to a path for the command-line tools."""
import io

import cv2
import matplotlib
import matplotlib.text

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from faig.data.image_io import shown_text, write_bytes  # noqa: E402
from faig.attribution.methods import METHODS as RANKING_METHODS  # noqa: E402
from faig.evaluation.comparison import panel_title, panels  # noqa: E402
from faig.evaluation.masking import num_selected  # noqa: E402
from faig.evaluation.retraining import FUNCTION_TITLES, LABELS, SELECTIONS, shares  # noqa: E402
from faig.specs import DEFAULT_PAIR, ORIGINAL_PAIR, degradation  # noqa: E402



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


def plot_proportion_curves(results, methods, proportions, title, path, degradations=DEFAULT_PAIR):
    """:func:`proportion_curves` written to ``path``."""
    return save_figure(proportion_curves(results, methods, proportions, title, degradations), path)


def proportion_curves(results, methods, proportions, title, degradations=DEFAULT_PAIR):
    """Output difference vs proportion: 2x2 panels (input x masked filters), one line per method."""
    title = shown_text(title) if title else title  # (a data set or image name that is not UTF-8)
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
    return fig


def plot_filter_distribution(space, rankings, proportion, title, path, short_names=None, note=None):
    """:func:`filter_distribution` written to ``path``, ``note`` kept in the PNG's text too."""
    return save_figure(filter_distribution(space, rankings, proportion, title, short_names, note), path, comment=note)


def filter_distribution(space, rankings, proportion, title, short_names=None, note=None):
    """Where the top-p % filters sit: a per-layer map and a per-layer share chart. ``note`` (e.g. rankings
    used with other models) is printed under the chart and kept in the PNG's text."""
    title = shown_text(title) if title else title  # (a data set or image name that is not UTF-8)
    n = num_selected(space.num_filters, proportion)
    layers = np.arange(len(space.entries))
    labels = short_names or [e.name.replace('.weight', '') for e in space.entries]
    fig, (ax_map, ax_bar) = plt.subplots(2, 1, figsize=(max(8, 0.35 * len(layers)), 8), sharex=True)
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
    return fig


def contact_sheet(rows, column_labels, path, cell_width=180, title=None):
    """:func:`image_grid` written to ``path``."""
    return save_figure(image_grid(rows, column_labels, cell_width, title), path)


def image_grid(rows, column_labels, cell_width=180, title=None):
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
    return fig


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


def plot_recovered_shares(study, path, net, degs=DEFAULT_PAIR):
    """:func:`recovered_share_chart` written to ``path``."""
    return save_figure(recovered_share_chart(study, net, degs), path)


def recovered_share_chart(study, net, degs=DEFAULT_PAIR):
    """Bar chart of a retraining study (faig.evaluation.retraining): the recovered share of the target's gain
    per selection, one group per function."""
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
    return fig


# ---- degradation prediction: Figures of a study record or of the command line's numbers (the caller saves) ----

from faig.evaluation.degradation_predictor import FLOOR, PREDICTORS, Calibration, class_labels  # noqa: E402
from faig.evaluation.prediction_study import CALIBRATIONS, study_predictors  # noqa: E402
from faig.tables import percent_text  # noqa: E402

LABEL_COLORS = ('tab:gray', 'tab:blue', 'tab:orange', 'tab:purple')  # clean, <a>, <b>, <a>_<b>
CLASSICAL_TITLES = ('variance of the Laplacian (sharpness)', f'estimate_sigma ({ORIGINAL_PAIR[1]} level on [0, 1])')


def figure_png(fig, dpi=120):
    """PNG bytes of ``fig`` (closed), for a caller that commits its files together."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=dpi, bbox_inches='tight')
    plt.close(fig)
    return buffer.getvalue()


def draw_thresholds(ax, calibration):
    """The decision boundaries: the first degradation's cut across the whole panel, the second's two cuts each
    on its own side of it."""
    ax.autoscale(False)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    t = calibration.threshold_first.value
    absent, present = calibration.thresholds_second
    style = dict(color='k', ls='--', lw=1)
    low, high = (absent, present) if calibration.threshold_first.direction == 'above' else (present, absent)
    if calibration.first == 1:  # first on the y axis: a horizontal cut, then two vertical ones
        ax.plot([x0, x1], [t, t], **style)
        ax.plot([low.value, low.value], [y0, t], **style)
        ax.plot([high.value, high.value], [t, y1], **style)
    else:
        ax.plot([t, t], [y0, y1], **style)
        ax.plot([x0, t], [low.value, low.value], **style)
        ax.plot([t, x1], [high.value, high.value], **style)


def prediction_scatter_axes(ax, values, labels, calibration, title, feature_titles, trained=None):
    """One panel: the two numbers (log axes) coloured by true label (``labels`` None: unlabelled), the decision
    boundaries dashed; ``trained``: per image, at a trained level (filled marker) or not (hollow)."""
    values = np.maximum(np.asarray(values, dtype=np.float64).reshape(-1, 2), FLOOR)
    trained = np.ones(len(values), dtype=bool) if trained is None else np.asarray(trained, dtype=bool)
    if labels:
        for color, label in zip(LABEL_COLORS, class_labels(calibration.degradations)):
            chosen = np.array([lab == label for lab in labels], dtype=bool)
            for filled in (True, False):
                sel = chosen & (trained == filled)
                if sel.any():
                    suffix = '' if trained.all() else ' (trained level)' if filled else ' (other levels)'
                    ax.scatter(values[sel, 0], values[sel, 1], s=14, alpha=0.8, edgecolors=color,
                               facecolors=color if filled else 'none', label=label + suffix)
    else:
        ax.scatter(values[:, 0], values[:, 1], s=14, color='k', label='images (unlabelled)')
    ax.set_xscale('log')
    ax.set_yscale('log')
    draw_thresholds(ax, calibration)
    ax.set_xlabel(feature_titles[0], fontsize=8)
    ax.set_ylabel(feature_titles[1], fontsize=8)
    ax.set_title(f'{title}\n{calibration.describe()}', fontsize=7)
    ax.grid(alpha=0.3, which='both', lw=0.3)
    ax.legend(fontsize=6)


def filter_feature_titles(degradations, proportion):
    return tuple(f'output difference, top {proportion:g} % {degradation(d).function} filters masked'
                 for d in degradations)


def prediction_scatter_figure(values, labels, calibration, title, proportion=1):
    """The command line's scatter plot of the filter-based numbers."""
    fig, ax = plt.subplots(figsize=(5.5, 4.8))
    prediction_scatter_axes(ax, values, labels, calibration, title,
                            filter_feature_titles(calibration.degradations, proportion))
    return fig


def prediction_confusion_figure(study, calibration='trained'):
    """Confusion matrices of every predictor of a study record (thresholds fitted on ``calibration``), at the
    trained and at the other levels of the test split."""
    labels = study['labels']
    predictors = study_predictors(study, calibration)
    fig, axes = plt.subplots(len(predictors), 2, figsize=(8.5, 4 * len(predictors)), squeeze=False)
    for row, key in enumerate(predictors):
        for col, (part, what) in enumerate((('trained', 'trained levels'), ('unseen', 'other levels'))):
            block = study['summary'][calibration][key][part]
            matrix = np.array(block['confusion'])
            ax = axes[row, col]
            ax.imshow(matrix / np.maximum(matrix.sum(1, keepdims=True), 1), cmap='Blues', vmin=0, vmax=1)
            for i in range(len(labels)):
                for j in range(len(labels)):
                    ax.text(j, i, str(matrix[i, j]), ha='center', va='center', fontsize=9,
                            color='white' if matrix[i, j] > 0.6 * max(matrix[i].sum(), 1) else 'black')
            ax.set_xticks(range(len(labels)), labels, fontsize=8)
            ax.set_yticks(range(len(labels)), labels, fontsize=8)
            ax.set_xlabel('predicted')
            ax.set_ylabel('true')
            ax.set_title(f'{PREDICTORS[key]}\n{what}: {percent_text(block["accuracy"])} of {block["images"]}', fontsize=9)
    fig.suptitle(f'{study["net"]}: 4-class degradation prediction on the test split '
                 f'(thresholds fitted on {CALIBRATIONS[calibration]} of the calibration split)', fontsize=10)
    fig.tight_layout()
    return fig


def prediction_study_scatter_figure(study, calibration='trained'):
    """The two numbers of every predictor on the test split, coloured by true label (filled: trained levels),
    with the decision boundaries fitted on ``calibration`` of the calibration split."""
    degs = tuple(study['degradations'])
    predictors = study_predictors(study, calibration)
    fig, axes = plt.subplots(1, len(predictors), figsize=(8 * len(predictors), 5.5), squeeze=False)
    test = [r for r in study['records'] if r['split'] == 'test']
    filters = filter_feature_titles(degs, study['proportion'])
    titles = {'filters': filters, 'classical': CLASSICAL_TITLES,
              'relative': tuple(f'{t} / output gradient energy' for t in filters)}
    for ax, key in zip(axes[0], predictors):
        prediction_scatter_axes(ax, [r[key] for r in test], [r['true'] for r in test],
                                Calibration.from_json(study['calibrations'][calibration][key]),
                                f'{study["net"]}: {PREDICTORS[key]}, test split; thresholds fitted on '
                                f'{CALIBRATIONS[calibration]}', titles[key], [r['trained'] for r in test])
    fig.tight_layout()
    return fig


def prediction_level_scatter_figure(study, key='relative', calibration='trained', split='test'):
    """One panel per level of the labelled set: the two numbers of predictor ``key`` on ``split`` (log axes), the
    boundaries fitted on ``calibration`` dashed, a cross per wrong prediction. Where the filters fail (low noise,
    blur under noise) it shows why: points on the wrong side of a cut, or on top of another level's."""
    fitted = Calibration.from_json(study['calibrations'][calibration][key])
    labels = list(study.get('labels') or class_labels(tuple(study['degradations'])))
    records = [r for r in study['records'] if r['split'] == split]
    levels = [lv['name'] for lv in study['levels']]
    values = np.maximum(np.array([r[key] for r in records], dtype=np.float64).reshape(-1, 2), FLOOR)
    lo, hi = values.min(0) / 1.5, values.max(0) * 1.5
    columns = 4
    rows = int(np.ceil(len(levels) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.0 * rows), squeeze=False)
    for ax, level in zip(axes.flat, levels):
        chosen = [i for i, r in enumerate(records) if r['level'] == level]
        true = records[chosen[0]]['true'] if chosen else labels[0]
        color = LABEL_COLORS[labels.index(true)]
        right = [i for i in chosen if records[i]['predicted'][calibration][key] == records[i]['true']]
        wrong = [i for i in chosen if i not in right]
        ax.scatter(values[right, 0], values[right, 1], s=16, color=color, alpha=0.85, label='right')
        ax.scatter(values[wrong, 0], values[wrong, 1], s=22, color=color, marker='x', label='wrong')
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        draw_thresholds(ax, fitted)
        trained = next((lv['trained'] for lv in study['levels'] if lv['name'] == level), False)
        ax.set_title(f'{level} ({true}{", trained" if trained else ""}): {len(right)}/{len(chosen)} right',
                     fontsize=8)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3, which='both', lw=0.3)
    for ax in axes.flat[len(levels):]:
        ax.axis('off')
    fig.supxlabel(fitted.features[0], fontsize=9)
    fig.supylabel(fitted.features[1], fontsize=9)
    fig.suptitle(f'{study["net"]}: {PREDICTORS.get(key, key)} on the {split} split, per level '
                 f'(thresholds fitted on {CALIBRATIONS[calibration]} of the calibration split; x: wrong)\n'
                 f'{fitted.describe()}', fontsize=9)
    fig.tight_layout()
    return fig
