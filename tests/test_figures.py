"""The masking figure's difference maps: |masked − target| per pixel, one colour scale per row."""
import numpy as np

from faig.figures import difference_map, masking_sheet


def test_difference_map_is_the_mean_absolute_difference_over_channels():
    a = np.array([[[0, 10, 20], [255, 0, 0]]], dtype=np.uint8)
    b = np.array([[[5, 0, 20], [0, 0, 3]]], dtype=np.uint8)
    assert np.array_equal(difference_map(a, b), np.array([[5.0, 86.0]]))  # no uint8 wrap-around
    assert np.array_equal(difference_map(a[..., 0], b[..., 0]), np.array([[5.0, 255.0]]))  # gray images


def test_masking_sheet_has_a_map_row_under_each_input_row():
    rng = np.random.default_rng(0)
    rows, maps = [], {}
    for r, label in enumerate(('blurry input', 'noisy input')):
        images = [rng.integers(0, 256, (6, 6, 3), dtype=np.uint8) for _ in range(4)]
        diffs = [None, None, difference_map(images[2], images[1]), difference_map(images[3], images[1]) * (r + 1) / 4]
        maps[r] = diffs[2:]
        rows.append((label, images, diffs))
    fig = masking_sheet(rows, ['input', 'target model', 'deblurring filters masked', 'denoising filters masked'])
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 2 * 4 + 2 * 2  # the images, and the maps under the two masked outputs of each row
    grid = np.array(fig.axes[:16]).reshape(4, 4)
    for r in range(2):
        drawn = [grid[2 * r + 1, c].images for c in range(4)]
        assert not drawn[0] and not drawn[1]  # nothing under the input and the target
        for c in (2, 3):
            assert np.array_equal(drawn[c][0].get_array(), maps[r][c - 2])
            assert drawn[c][0].get_clim() == (0, max(float(m.max()) for m in maps[r]))  # one scale per row
    assert len(fig.axes) == 16 + 2  # one colorbar per map row
    assert grid[1, 2].images[0].get_clim() != grid[3, 2].images[0].get_clim()


def test_figures_are_returned_and_the_plot_helpers_write_them(tmp_path):
    import matplotlib.figure
    import matplotlib.pyplot as plt
    import torch

    from faig.attribution.filters import FilterSpace
    from faig.figures import filter_distribution, image_grid, plot_proportion_curves, proportion_curves
    from faig.specs import DEFAULT_PAIR
    a, b = DEFAULT_PAIR
    results = {(m, p, k, d): float(p) for m in ('faig', 'ig') for p in (1, 3)
               for k in DEFAULT_PAIR for d in DEFAULT_PAIR}
    fig = proportion_curves(results, ['faig', 'ig'], [1, 3], 'net')
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 4
    assert [list(line.get_ydata()) for line in fig.axes[0].lines] == [[1.0, 3.0], [1.0, 3.0]]
    space = FilterSpace({f'conv{i}.weight': torch.zeros(10, 2, 3, 3) for i in range(2)})
    fig2 = filter_distribution(space, {a: list(range(20)), b: list(range(19, -1, -1))}, 10, 'net')
    assert isinstance(fig2, matplotlib.figure.Figure)
    grid = image_grid([('row', [np.zeros((4, 4, 3), dtype=np.uint8)] * 2)], ['x', 'y'])
    assert isinstance(grid, matplotlib.figure.Figure) and len(grid.axes) == 2
    assert not list(tmp_path.iterdir())  # nothing written: the caller saves
    plt.close('all')
    path = plot_proportion_curves(results, ['faig', 'ig'], [1, 3], 'net', str(tmp_path / 'curves.png'))
    assert open(path, 'rb').read(8) == b'\x89PNG\r\n\x1a\n'
