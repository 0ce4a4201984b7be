"""The attribution core against slow, literal references written here (model rebuilt at every
step, loops over filters), plus its invariants."""
import numpy as np
import pytest
import torch

from faig.attribution.faig import discriminative, faig_image, integrate_gradients
from faig.attribution.filters import FilterSpace
from faig.attribution.ig import ig_image
from faig.attribution.path import CHANNELS_LAST_MARGIN, ParameterPath, resolve_layout
from faig.attribution.quadrature import quadrature
from faig.attribution.ranking import rank
from faig.attribution.weights import absolute_filter_change, random_rankings
from faig.networks import build_network, preset

TINY_NETS = {
    'srresnet': {'type': 'MSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 4, 'num_block': 1, 'upscale': 2},
    'srcnn_style': {'type': 'srcnn_style_net', 'scale': 2, 'channels': (4, 6)},
    'edsr': {'type': 'EDSR', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 4, 'num_block': 1, 'upscale': 2},
}


def make_pair(opt, seed=0, dtype=torch.float64):
    """Baseline and a perturbed 'fine-tuned' target (different random init perturbation)."""
    torch.manual_seed(seed)
    base = build_network(opt).to(dtype)
    target = {k: v + 0.05 * torch.randn_like(v) for k, v in base.state_dict().items()}
    return base.state_dict(), target


def images(dtype=torch.float64, size=(6, 5), seed=1):
    g = torch.Generator().manual_seed(seed)
    gt = torch.rand(1, 3, size[0] * 2, size[1] * 2, generator=g, dtype=dtype)
    blur = torch.rand(1, 3, *size, generator=g, dtype=dtype)
    noise = torch.rand(1, 3, *size, generator=g, dtype=dtype)
    return gt, blur, noise


def fresh_net(opt, dtype):
    return build_network(opt).to(dtype).eval()


# ---- literal references -------------------------------------------------------------------

def literal_faig(opt, baseline, target, img, gt, n_steps):
    """The paper's Eq. 6 written out: rebuild the net at every step, loop over every filter."""
    conv_names = [k for k, v in target.items() if v.ndim == 4]
    total = {k: torch.zeros_like(target[k]) for k in conv_names}
    for step in range(n_steps):
        alpha = step / n_steps
        net = fresh_net(opt, target[conv_names[0]].dtype)
        net.load_state_dict({k: alpha * baseline[k] + (1 - alpha) * target[k] for k in target})
        net.zero_grad()
        loss = torch.nn.MSELoss(reduction='sum')(gt, net(img))
        loss.backward()
        params = dict(net.named_parameters())
        for k in conv_names:
            total[k] += params[k].grad
    scores = []
    for k in conv_names:  # filter (o, i) of each conv, o-major: the sum over its kernel of |grad · Δθ| / N
        d = baseline[k] - target[k]
        scores.append((total[k] * d / n_steps).abs().sum(dim=(2, 3)).flatten())
    return torch.cat(scores).double().numpy()


def literal_ig(opt, target, clean, degraded, n_steps, closed):
    net = fresh_net(opt, clean.dtype)
    net.load_state_dict(target)
    conv_names = [k for k, v in target.items() if v.ndim == 4]
    total = {k: torch.zeros_like(target[k]) for k in conv_names}
    for step in range(n_steps + 1 if closed else n_steps):
        net.zero_grad()
        net(clean + step / n_steps * (degraded - clean)).sum().backward()
        params = dict(net.named_parameters())
        for k in conv_names:
            total[k] += params[k].grad
    scores = []
    for k in conv_names:  # filter (o, i) of each conv, o-major: the sum over its kernel of |grad|
        sums = total[k].abs().sum(dim=(2, 3)).flatten().double()
        scores.append(sums if closed else sums / n_steps)
    return torch.cat(scores).numpy()


def literal_abs_change(baseline, target):
    scores = []
    for k, t in target.items():
        if t.ndim != 4:
            continue
        for o in range(t.shape[0]):
            for i in range(t.shape[1]):
                b = baseline[k][o, i]
                scores.append(float(((t[o, i] - b).abs() / b.abs().sum()).sum()))
    return np.array(scores)


# ---- tests ---------------------------------------------------------------------------------

@pytest.mark.parametrize('net_name', list(TINY_NETS))
def test_faig_matches_literal_reference(net_name):
    opt = TINY_NETS[net_name]
    baseline, target = make_pair(opt)
    gt, blur, noise = images()
    space = FilterSpace(target)
    path = ParameterPath(fresh_net(opt, torch.float64), baseline, target)
    scores, _ = faig_image(space, path, {'blur': blur, 'noise': noise}, gt, n_steps=5)
    for key, img in (('blur', blur), ('noise', noise)):
        ref = literal_faig(opt, baseline, target, img, gt, 5)
        assert ref.shape == scores[key].shape == (space.num_filters, )
        np.testing.assert_allclose(scores[key], ref, rtol=1e-6, atol=1e-8 * np.abs(ref).max())


def test_faig_float32_matches_reference_and_ranking():
    opt = TINY_NETS['srresnet']
    baseline, target = make_pair(opt, dtype=torch.float32)
    gt, blur, noise = images(torch.float32)
    space = FilterSpace(target)
    path = ParameterPath(fresh_net(opt, torch.float32), baseline, target)
    scores, _ = faig_image(space, path, {'blur': blur, 'noise': noise}, gt, n_steps=4)
    ref = literal_faig(opt, baseline, target, blur, gt, 4) - literal_faig(opt, baseline, target, noise, gt, 4)
    ours = discriminative(scores, 'blur', 'noise')
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())
    top = max(1, len(ref) // 10)
    assert set(rank(ours)[:top]) == set(rank(ref)[:top])


def test_blur_score_is_negated_noise_score():
    opt = TINY_NETS['srcnn_style']
    baseline, target = make_pair(opt)
    gt, blur, noise = images()
    space = FilterSpace(target)
    path = ParameterPath(fresh_net(opt, torch.float64), baseline, target)
    scores, _ = faig_image(space, path, {'blur': blur, 'noise': noise}, gt, n_steps=3)
    np.testing.assert_array_equal(discriminative(scores, 'blur', 'noise'), -discriminative(scores, 'noise', 'blur'))
    # and swapping which image is called blurry gives the same numbers, with the sign flipped
    swapped, _ = faig_image(space, path, {'blur': noise, 'noise': blur}, gt, n_steps=3)
    np.testing.assert_allclose(discriminative(swapped, 'blur', 'noise'), -discriminative(scores, 'blur', 'noise'),
                               rtol=1e-12, atol=1e-15)


def test_path_restores_target_weights_and_endpoints():
    opt = TINY_NETS['srresnet']
    baseline, target = make_pair(opt)
    net = fresh_net(opt, torch.float64)
    path = ParameterPath(net, baseline, target)
    path.move_to(1.0)
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, baseline[k], rtol=0, atol=0)
    gt, blur, _ = images()
    integrate_gradients(path, {'blur': blur}, gt, n_steps=2)
    for k, v in net.state_dict().items():  # left at the target after a run
        assert torch.equal(v, target[k])


def test_float64_networks_keep_float64_gradients():
    """The loss is not computed from a float32 copy of a float64 output (only autocast outputs are cast)."""
    opt = TINY_NETS['srresnet']
    baseline, target = make_pair(opt, seed=7)
    gt, blur, _ = images(seed=8)
    path = ParameterPath(fresh_net(opt, torch.float64), baseline, target)
    grads = integrate_gradients(path, {'blur': blur}, gt, n_steps=1)['blur'].grads  # one node: alpha=0
    net = fresh_net(opt, torch.float64)
    net.load_state_dict(target)
    expected = torch.autograd.grad(((net(blur) - gt)**2).sum(), list(net.parameters()))
    for (name, _), e in zip(net.named_parameters(), expected):
        torch.testing.assert_close(grads[name], e, rtol=1e-12, atol=1e-12 * float(e.abs().max()))


@pytest.mark.parametrize('method,nodes_per_pass', [('riemann_left', 1), ('riemann_left', 2), ('riemann_right', 1),
                                                    ('trapezoid', 3), ('gauss_legendre', 1)])
def test_endpoint_losses_are_the_two_models_losses(method, nodes_per_pass):
    """Taken from the node passes where alpha=0 or 1 is a node, else from extra forwards: the same values."""
    opt = TINY_NETS['srresnet']
    baseline, target = make_pair(opt, seed=5)
    gt, blur, noise = images(seed=6)
    path = ParameterPath(fresh_net(opt, torch.float64), baseline, target)
    integrals = integrate_gradients(path, {'blur': blur, 'noise': noise}, gt, n_steps=4, method=method,
                                    nodes_per_pass=nodes_per_pass)
    for key, x in (('blur', blur), ('noise', noise)):
        for state, attr in ((target, 'loss_target'), (baseline, 'loss_baseline')):
            net = fresh_net(opt, torch.float64)
            net.load_state_dict(state)
            with torch.no_grad():
                expected = float(((net(x) - gt)**2).sum())
            assert getattr(integrals[key], attr) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize('net_name', ['srresnet', 'srcnn_style'])
def test_completeness_error_shrinks_with_steps_and_gauss_legendre_wins(net_name):
    opt = TINY_NETS[net_name]
    baseline, target = make_pair(opt, seed=3)
    gt, blur, _ = images(seed=4)
    path = ParameterPath(fresh_net(opt, torch.float64), baseline, target)

    def error(n, method):
        integral = integrate_gradients(path, {'x': blur}, gt, n_steps=n, method=method)['x']
        total, expected, err = integral.completeness(path.delta)
        assert abs(expected) > 0
        return abs(err)

    left = [error(n, 'riemann_left') for n in (2, 8, 32)]
    assert left[0] > left[1] > left[2]
    assert error(8, 'gauss_legendre') < error(8, 'riemann_left')


def test_quadrature_rules_integrate_polynomials():
    for method in ('riemann_left', 'riemann_right', 'riemann_middle', 'trapezoid', 'gauss_legendre'):
        a, w = quadrature(method, 64)
        assert abs(w.sum() - 1) < 1e-12
        assert abs((w * a**2).sum() - 1 / 3) < 2e-2
    a, w = quadrature('gauss_legendre', 4)
    assert abs((w * a**7).sum() - 1 / 8) < 1e-12  # exact up to degree 2n-1
    a, w = quadrature('riemann_left', 100)
    np.testing.assert_array_equal(a, np.arange(100) / 100)


@pytest.mark.parametrize('net_name,method', [('srresnet', 'riemann_left'), ('srcnn_style', 'riemann_closed_sum'),
                                             ('edsr', 'riemann_left')])
def test_ig_matches_literal_reference(net_name, method):
    opt = TINY_NETS[net_name]
    _, target = make_pair(opt)
    gt, blur, clean = images()
    net = fresh_net(opt, torch.float64)
    net.load_state_dict(target)
    ref = literal_ig(opt, target, clean, blur, 4, closed=method == 'riemann_closed_sum')
    for nodes_per_pass in (None, 1, 2):  # default (all nodes in one batch here), one per pass, uneven chunks
        ours = ig_image(FilterSpace(target), net, clean, blur, n_steps=4, method=method,
                        nodes_per_pass=nodes_per_pass)
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-9)


def test_ig_weighted_rule_batched_equals_one_node_per_pass():
    opt = TINY_NETS['srresnet']
    _, target = make_pair(opt)
    _, blur, clean = images()
    net = fresh_net(opt, torch.float64)
    net.load_state_dict(target)
    space = FilterSpace(target)
    one = ig_image(space, net, clean, blur, n_steps=5, method='gauss_legendre', nodes_per_pass=1)
    batched = ig_image(space, net, clean, blur, n_steps=5, method='gauss_legendre', nodes_per_pass=3)
    np.testing.assert_allclose(batched, one, rtol=1e-9, atol=1e-12)


def test_abs_filter_change_matches_literal_reference():
    opt = TINY_NETS['srresnet']
    baseline, target = make_pair(opt)
    ours = absolute_filter_change(FilterSpace(target), baseline, target)
    np.testing.assert_allclose(ours, literal_abs_change(baseline, target), rtol=1e-5)
    # an all-zero baseline filter is ranked first if it changed, last if not
    baseline = {k: v.clone() for k, v in baseline.items()}
    baseline['conv_first.weight'][0, 0] = 0
    scores = absolute_filter_change(FilterSpace(target), baseline, target)
    assert np.isinf(scores[0]) and rank(scores)[0] == 0


def test_random_is_reproducible_permutation():
    a, b, c = random_rankings(1000, seed=5), random_rankings(1000, seed=5), random_rankings(1000, seed=6)
    for deg in ('blur', 'noise'):
        np.testing.assert_array_equal(a[deg], b[deg])
        np.testing.assert_array_equal(np.sort(a[deg]), np.arange(1000))
        assert not np.array_equal(a[deg], c[deg])
    assert not np.array_equal(a['blur'], a['noise'])


@pytest.mark.parametrize('name,count', [('srresnet', 151936), ('srcnn_style', 156224)])
def test_filter_space_matches_original_indexing(name, count):
    net = build_network(preset(name, 2))
    space = FilterSpace(net.state_dict())
    assert space.num_filters == count
    first = space.entries[0]
    assert space.locate(0) == (first.name, 0, 0)
    assert space.locate(first.count) == (space.entries[1].name, 0, 0)
    # the original's layout: offset + out * in_ch + in
    assert space.locate(first.count + 2 * space.entries[1].in_channels + 1) == (space.entries[1].name, 2, 1)
    rng = np.random.default_rng(0)
    for index in rng.integers(0, count, size=2000):
        assert space.index(*space.locate(index)) == index
    assert space.locate(count - 1)[0] == space.entries[-1].name


def test_filter_space_skips_biases_and_masks_select_slices():
    opt = TINY_NETS['srcnn_style']
    _, target = make_pair(opt)
    space = FilterSpace(target)
    assert all(name.endswith('weight') for name in space.names)
    for index in range(space.num_filters):
        assert space.index(*space.locate(index)) == index
    picked = [0, 5, space.num_filters - 1]
    masks = space.masks(picked)
    assert sum(int(m.sum()) for m in masks.values()) == 3
    name, o, i = space.locate(5)
    assert masks[name][o, i]
    with pytest.raises(IndexError):
        space.locate(space.num_filters)


def test_channels_last_gives_the_same_scores():
    opt = TINY_NETS['srcnn_style']
    baseline, target = make_pair(opt, dtype=torch.float32)
    gt, blur, noise = images(torch.float32)
    space = FilterSpace(target)
    results = []
    for channels_last in (False, True):
        path = ParameterPath(fresh_net(opt, torch.float32), baseline, target, channels_last=channels_last)
        scores, _ = faig_image(space, path, {'blur': blur, 'noise': noise}, gt, n_steps=3)
        results.append(discriminative(scores, 'blur', 'noise'))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-4, atol=1e-5 * np.abs(results[0]).max())


def test_layout_auto_is_measured_and_explicit_layouts_are_kept():
    opt = TINY_NETS['srresnet']
    net = fresh_net(opt, torch.float32)
    x = torch.rand(1, 3, 10, 10)
    assert resolve_layout('contiguous', net, x) == (False, None)
    assert resolve_layout('channels_last', net, x) == (True, None)
    chosen, seconds = resolve_layout('auto', net, x)
    assert set(seconds) == {'contiguous', 'channels_last'} and all(v > 0 for v in seconds.values())
    assert chosen == (seconds['channels_last'] < CHANNELS_LAST_MARGIN * seconds['contiguous'])
    assert next(net.parameters()).is_contiguous()  # the network itself is not converted by the measurement
    with pytest.raises(ValueError):
        resolve_layout('sideways', net, x)


def test_layout_measurement_is_cached_per_machine_network_and_size(tmp_path, monkeypatch):
    import faig.attribution.path as path_module
    opt = TINY_NETS['srresnet']
    net = fresh_net(opt, torch.float32)
    cache = str(tmp_path / 'layout.json')
    first = resolve_layout('auto', net, torch.rand(1, 3, 10, 10), cache_path=cache)

    def no_measuring(*args, **kwargs):
        raise AssertionError('measured again although the cache holds this case')

    monkeypatch.setattr(path_module, 'time_pass', no_measuring)
    assert resolve_layout('auto', net, torch.rand(1, 3, 10, 10), cache_path=cache) == first
    with pytest.raises(AssertionError, match='measured again'):  # another input size is another case
        resolve_layout('auto', net, torch.rand(1, 3, 12, 10), cache_path=cache)


def test_bf16_keeps_most_of_the_ranking():
    opt = TINY_NETS['srcnn_style']
    baseline, target = make_pair(opt, dtype=torch.float32)
    gt, blur, noise = images(torch.float32, size=(12, 12))
    space = FilterSpace(target)
    path = ParameterPath(fresh_net(opt, torch.float32), baseline, target)
    exact, _ = faig_image(space, path, {'blur': blur, 'noise': noise}, gt, n_steps=4)
    approx, _ = faig_image(space, path, {'blur': blur, 'noise': noise}, gt, n_steps=4, precision='bf16')
    a, b = discriminative(exact, 'blur', 'noise'), discriminative(approx, 'blur', 'noise')
    assert np.corrcoef(a, b)[0, 1] > 0.95


@pytest.mark.parametrize('name', ['srresnet', 'srcnn_style'])
def test_real_size_nets_rank_like_the_literal_reference(name):
    """The paper's networks at full width: the library's top-1 % sets equal the literal reference's."""
    opt = preset(name, 2)
    baseline, target = make_pair(opt, seed=5, dtype=torch.float32)
    gt, blur, noise = images(torch.float32, size=(10, 10), seed=6)
    space = FilterSpace(target)
    path = ParameterPath(fresh_net(opt, torch.float32), baseline, target)
    scores, _ = faig_image(space, path, {'blur': blur, 'noise': noise}, gt, n_steps=2)
    ours = discriminative(scores, 'blur', 'noise')
    ref = literal_faig(opt, baseline, target, blur, gt, 2) - literal_faig(opt, baseline, target, noise, gt, 2)
    top = space.num_filters // 100
    for a, b in ((ours, ref), (-ours, -ref)):
        ra, rb = rank(a), rank(b)
        common = len(set(ra[:top]) & set(rb[:top]))
        # identical up to float ties: any swap must be between scores equal to float precision
        boundary = np.sort(b)[::-1][top - 1]
        ties = np.sum(np.abs(b - boundary) <= 1e-5 * np.abs(b).max())
        assert common >= top - ties


def test_fast_mode_keeps_the_faithful_ranking():
    """Regression guard for --fast: its ranking must stay close to the faithful N=100 one."""
    from faig.attribution.modes import FAST_MODE
    fast = FAST_MODE['settings']
    for name in ('srresnet', 'srcnn_style'):
        opt = TINY_NETS[name]
        baseline, target = make_pair(opt, seed=7, dtype=torch.float32)
        gt, blur, noise = images(torch.float32, size=(12, 12), seed=8)
        space = FilterSpace(target)
        faithful_path = ParameterPath(fresh_net(opt, torch.float32), baseline, target)
        faithful, _ = faig_image(space, faithful_path, {'blur': blur, 'noise': noise}, gt, n_steps=100)
        net = fresh_net(opt, torch.float32)
        fast_path = ParameterPath(net, baseline, target,
                                  channels_last=resolve_layout(fast['layout'], net, blur)[0])
        quick, _ = faig_image(space, fast_path, {'blur': blur, 'noise': noise}, gt, n_steps=fast['total_step'],
                              method=fast['quadrature'], precision=fast.get('precision', 'fp32'))
        a, b = discriminative(faithful, 'blur', 'noise'), discriminative(quick, 'blur', 'noise')
        top = max(1, len(a) // 10)
        assert len(set(rank(a)[:top]) & set(rank(b)[:top])) / top >= 0.9
        assert np.corrcoef(a, b)[0, 1] > 0.99


@pytest.mark.parametrize('name', ['srresnet', 'srcnn_style'])
def test_several_nodes_per_pass_give_the_same_integral(name):
    """Batched path nodes (torch.func, for GPUs) = one node per pass, for uniform and weighted rules."""
    opt = TINY_NETS[name]
    baseline, target = make_pair(opt)
    gt, blur, noise = images()
    space = FilterSpace(target)
    for method, steps in (('riemann_left', 5), ('gauss_legendre', 4)):
        path = ParameterPath(fresh_net(opt, torch.float64), baseline, target)
        one, c1 = faig_image(space, path, {'blur': blur, 'noise': noise}, gt, n_steps=steps, method=method)
        many, c3 = faig_image(space, path, {'blur': blur, 'noise': noise}, gt, n_steps=steps, method=method,
                              nodes_per_pass=3)
        for key in ('blur', 'noise'):
            np.testing.assert_allclose(many[key], one[key], rtol=1e-9, atol=1e-12 * np.abs(one[key]).max())
            np.testing.assert_allclose(c3[key], c1[key], rtol=1e-9)


def test_batched_nodes_move_float_buffers_along_the_path():
    """BatchNorm statistics that differ between the models move along the path in a batched pass too
    (they were held at the target's values): batched = one node per pass."""
    def bn_net():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                   torch.nn.Conv2d(4, 12, 3, padding=1), torch.nn.PixelShuffle(2)).double().eval()
    baseline = bn_net().state_dict()
    g = torch.Generator().manual_seed(3)
    target = {k: (v + 0.2 * torch.rand(v.shape, generator=g, dtype=v.dtype) if v.is_floating_point() else v)
              for k, v in baseline.items()}
    assert not torch.equal(baseline['1.running_var'], target['1.running_var'])
    gt, blur, noise = images()
    space = FilterSpace(target)
    path = ParameterPath(bn_net(), baseline, target)
    one, c1 = faig_image(space, path, {'blur': blur, 'noise': noise}, gt, n_steps=4)
    many, c3 = faig_image(space, path, {'blur': blur, 'noise': noise}, gt, n_steps=4, nodes_per_pass=3)
    for key in ('blur', 'noise'):
        np.testing.assert_allclose(many[key], one[key], rtol=1e-9, atol=1e-12 * np.abs(one[key]).max())
        np.testing.assert_allclose(c3[key], c1[key], rtol=1e-9)


def test_index_bytes_equal_the_originals_savetxt():
    import io

    from faig.attribution.ranking import index_bytes
    for ranking in (np.array([0]), np.random.default_rng(0).permutation(151936), np.array([5, 3, 10**9], np.int32)):
        buffer = io.StringIO()
        np.savetxt(buffer, ranking, delimiter=',', fmt='%d')
        assert index_bytes(ranking) == buffer.getvalue().encode()


@pytest.mark.parametrize('aliased', ['target', 'baseline', 'both'])
def test_path_is_not_bent_by_state_dicts_taken_from_its_network(aliased):
    """State dicts taken from the very network the path writes into share its tensors: the path copies
    them, so moving along it neither changes the ends nor the caller's dicts."""
    opt = TINY_NETS['srresnet']
    baseline, target = make_pair(opt)
    gt, blur, noise = images()
    reference = faig_image(FilterSpace(target), ParameterPath(fresh_net(opt, torch.float64), baseline, target),
                           {'blur': blur, 'noise': noise}, gt, n_steps=3)[0]
    net = fresh_net(opt, torch.float64)
    net.load_state_dict(target if aliased == 'target' else baseline)
    live = net.state_dict()  # tensors sharing storage with the network
    given_baseline = live if aliased in ('baseline', 'both') else baseline
    given_target = live if aliased == 'target' else target
    if aliased == 'both':  # the baseline is the live dict; the target an independent one
        given_target = {k: v.clone() for k, v in target.items()}
    expected_baseline = {k: v.clone() for k, v in given_baseline.items()}
    expected_target = {k: v.clone() for k, v in given_target.items()}
    path = ParameterPath(net, given_baseline, given_target)
    path.move_to(1.0)
    for k, v in net.state_dict().items():
        assert torch.equal(v, expected_baseline[k])
    scores = faig_image(FilterSpace(target), path, {'blur': blur, 'noise': noise}, gt, n_steps=3)[0]
    for key in scores:
        np.testing.assert_array_equal(scores[key], reference[key])
    for k, v in net.state_dict().items():  # left at the target
        assert torch.equal(v, expected_target[k])
