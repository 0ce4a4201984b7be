"""The filter space for every weight kind BasicSR archs use (Conv1d/2d/3d, grouped, depthwise,
ConvTranspose, Linear), against slow literal references written here, and FAIG, masking, modulation and
retraining on networks that hold them (SwinIR, RRDBNet, EDSR, a ConvTranspose net)."""
import numpy as np
import pytest
import torch
from torch import nn

from faig.attribution.faig import faig_image
from faig.attribution.filters import FilterSpace, count_changed, parse_layers, space_for_network
from faig.attribution.path import ParameterPath
from faig.attribution.ranking import rank
from faig.attribution.weights import absolute_filter_change
from faig.errors import InputError
from faig.evaluation.masking import modulate_filters, substitute_filters
from faig.networks import build_network, preset
from faig.specs import NETWORKS

CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)

TINY_SWINIR = {'type': 'SwinIR', 'upscale': 2, 'img_size': 16, 'window_size': 4, 'embed_dim': 12, 'depths': [2],
               'num_heads': [2], 'mlp_ratio': 2, 'upsampler': 'pixelshuffledirect', 'ape': True}
TINY_RRDB = {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'scale': 2, 'num_feat': 8, 'num_block': 1,
             'num_grow_ch': 4}
TINY_EDSR = {'type': 'EDSR', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 1, 'upscale': 2}


class Zoo(nn.Module):
    """One layer of each kind (not meant to run as a whole), plus tensors that are not filters."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(3, 4, 3)
        self.grouped = nn.Conv2d(4, 6, 3, groups=2)
        self.depthwise = nn.Conv2d(6, 6, (3, 2), groups=6)
        self.c3 = nn.Conv3d(2, 3, (2, 3, 3))
        self.norm = nn.LayerNorm(5)
        self.up = nn.ConvTranspose2d(4, 6, 3, groups=2)
        self.up1 = nn.ConvTranspose1d(3, 2, 4)
        self.up3 = nn.ConvTranspose3d(2, 4, 2, groups=2)
        self.fc = nn.Linear(5, 7)
        self.table = nn.Parameter(torch.randn(9, 2, 3, 3))  # 4-D, but no conv's weight
        self.register_buffer('mask', torch.zeros(2, 2, 2, 2))


class UpNet(nn.Module):
    """A runnable net with a grouped ConvTranspose upsampler, a Linear channel mixer and a Conv1d."""

    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(3, 4, 3, padding=1)
        self.up = nn.ConvTranspose2d(4, 6, 2, stride=2, groups=2)
        self.mix = nn.Linear(6, 5)
        self.row = nn.Conv1d(5, 5, 3, padding=1, groups=5)
        self.tail = nn.Conv2d(5, 3, 3, padding=1)

    def forward(self, x):
        y = torch.nn.functional.leaky_relu(self.up(torch.tanh(self.head(x))), 0.1)
        y = self.mix(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        b, c, h, w = y.shape
        y = self.row(y.permute(0, 2, 1, 3).reshape(b * h, c, w)).reshape(b, h, c, w).permute(0, 2, 1, 3)
        return self.tail(torch.tanh(y))


# ---- literal references -------------------------------------------------------------------

def literal_filters(net):
    """[(weight name, out, in, index into the weight of that filter's kernel slice)] in filter order:
    written per kind from the PyTorch layouts, one loop per filter."""
    result = []
    for module_name, m in net.named_modules():
        name = f'{module_name}.weight'
        if isinstance(m, TRANSPOSED):  # weight (in, out / groups, *k)
            opg, ipg = m.out_channels // m.groups, m.in_channels // m.groups
            for o in range(m.out_channels):
                for i in range(ipg):
                    g, j = divmod(o, opg)
                    result.append((name, o, i, (g * ipg + i, j)))
        elif isinstance(m, CONV):  # weight (out, in / groups, *k)
            for o in range(m.out_channels):
                for i in range(m.in_channels // m.groups):
                    result.append((name, o, i, (o, i)))
        elif isinstance(m, nn.Linear):  # weight (out, in): one scalar per filter
            for o in range(m.out_features):
                for i in range(m.in_features):
                    result.append((name, o, i, (o, i)))
    return result


def input_channel(m, o, i):
    """The layer input channel that filter (o, i) reads."""
    if isinstance(m, nn.Linear):
        return i
    out_per_group = m.out_channels // m.groups
    return (o // out_per_group) * (m.in_channels // m.groups) + i


def probe_input(m, channel):
    if isinstance(m, nn.Linear):
        x = torch.zeros(1, m.in_features)
        x[0, channel] = 1
        return x
    spatial = {1: (6, ), 2: (6, 6), 3: (4, 6, 6)}[len(m.kernel_size)]
    x = torch.zeros(1, m.in_channels, *spatial)
    x[0, channel] = 1
    return x


def literal_plain_rule(state):
    """The original's rule: every 4-D tensor in state-dict order, index = offset + out * in + in."""
    result = []
    for name, t in state.items():
        if t.ndim == 4:
            result += [(name, o, i) for o in range(t.shape[0]) for i in range(t.shape[1])]
    return result


def literal_faig(net_fn, baseline, target, img, gt, n_steps, space_net):
    """Eq. 6 written out: a fresh net per step, then one loop per filter over literal_filters."""
    total = None
    for step in range(n_steps):
        alpha = step / n_steps
        net = net_fn()
        net.load_state_dict({k: alpha * baseline[k] + (1 - alpha) * target[k] for k in target})
        loss = ((gt - net(img))**2).sum()
        grads = torch.autograd.grad(loss, list(net.parameters()))
        grads = dict(zip([n for n, _ in net.named_parameters()], grads))
        total = grads if total is None else {k: total[k] + grads[k] for k in total}
    return np.array([float((total[name][pos] * (baseline[name][pos] - target[name][pos]) / n_steps).abs().sum())
                     for name, _, _, pos in literal_filters(space_net)])


def seeded(fn, seed=0):
    torch.manual_seed(seed)
    return fn()


# ---- the index rule per kind --------------------------------------------------------------

def test_every_kind_indexes_as_the_literal_loop():
    net = seeded(Zoo)
    space = FilterSpace.of_network(net)
    ref = literal_filters(net)
    assert [e.name for e in space.entries] == ['c1.weight', 'grouped.weight', 'depthwise.weight', 'c3.weight',
                                               'up.weight', 'up1.weight', 'up3.weight', 'fc.weight']
    assert {e.name: e.kind for e in space.entries}['up.weight'] == 'conv_transpose'
    assert {e.name: e.kind for e in space.entries}['fc.weight'] == 'linear'
    assert space.num_filters == len(ref)
    for index, (name, o, i, _) in enumerate(ref):
        assert space.locate(index) == (name, o, i)
        assert space.index(name, o, i) == index
    entry = space.entry('up.weight')
    assert (entry.out_channels, entry.in_channels, entry.groups, entry.kernel) == (6, 2, 2, (3, 3))
    assert space.entry('fc.weight').kernel == () and space.entry('fc.weight').kernel_numel == 1


def test_state_dict_only_space_keeps_the_4d_rule():
    net = seeded(Zoo)
    plain = FilterSpace(net.state_dict())
    ref = literal_plain_rule(net.state_dict())
    # as before: any 4-D float tensor, in state-dict order (a module's own tensors before its children's)
    assert plain.names == ['table', 'mask', 'grouped.weight', 'depthwise.weight', 'up.weight']
    assert [plain.locate(k) for k in range(plain.num_filters)] == ref
    aware = FilterSpace.of_network(net).names
    assert 'table' not in aware and 'mask' not in aware  # with module info: not a conv's weight, no filter


@pytest.mark.parametrize('reduce', ['sum_abs', 'sum'])
def test_per_filter_equals_a_loop_over_slices(reduce):
    net = seeded(Zoo)
    space = FilterSpace.of_network(net)
    g = torch.Generator().manual_seed(3)
    tensors = {e.name: torch.randn(e.shape, generator=g, dtype=torch.float64) for e in space.entries}
    ours = space.per_filter(tensors, reduce).numpy()
    ref = [float((tensors[n][pos].abs() if reduce == 'sum_abs' else tensors[n][pos]).sum())
           for n, _, _, pos in literal_filters(net)]
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


def test_filter_views_masks_and_broadcast_select_exactly_the_filters():
    net = seeded(Zoo)
    space = FilterSpace.of_network(net)
    ref = literal_filters(net)
    chosen = np.random.default_rng(0).choice(space.num_filters, 40, replace=False)
    masks = space.weight_masks(chosen)
    expected = {e.name: torch.zeros(e.shape, dtype=torch.bool) for e in space.entries}
    for k in chosen:
        name, _, _, pos = ref[k]
        expected[name][pos] = True
    for e in space.entries:
        assert masks[e.name].shape == e.shape
        assert torch.equal(masks[e.name], expected[e.name]), e.name
    values = torch.arange(space.num_filters, dtype=torch.float64)
    for e in space.entries:
        w = torch.randn(e.shape, dtype=torch.float64)
        view = e.to_filters(w)
        assert view.shape == (e.out_channels, e.in_channels, e.kernel_numel)
        assert torch.equal(e.from_filters(view), w)
        spread = e.broadcast(values[e.offset:e.offset + e.count]).expand(e.shape)
        for k in range(e.offset, e.offset + e.count):
            name, o, i, pos = ref[k]
            assert torch.equal(view[o, i], w[pos].flatten())
            assert bool((spread[pos] == k).all())


def test_filter_out_in_connects_input_channel_in_to_output_channel_out():
    """What (out, in) means, checked by running each layer with one filter on and one input channel lit."""
    net = seeded(Zoo)
    space = FilterSpace.of_network(net)
    modules = dict(net.named_modules())
    with torch.no_grad():
        for k in range(space.num_filters):
            name, o, i = space.locate(k)
            m = modules[name[:-len('.weight')]]
            probe = type(m)(**probe_kwargs(m))
            probe.weight.zero_()
            probe.weight[space.weight_mask(name, space.masks([k])[name])] = 1.0
            assert reached(probe, probe_input(m, input_channel(m, o, i))) == [o], (name, o, i)
            other = (input_channel(m, o, i) + 1) % (m.in_features if isinstance(m, nn.Linear) else m.in_channels)
            assert reached(probe, probe_input(m, other)) == [], (name, o, i)


def reached(layer, x):
    """The output channels that ``x`` reaches through ``layer``."""
    y = layer(x)
    return y.reshape(y.shape[0], y.shape[1], -1).abs().sum(-1)[0].nonzero().flatten().tolist()


def probe_kwargs(m):
    if isinstance(m, nn.Linear):
        return {'in_features': m.in_features, 'out_features': m.out_features, 'bias': False}
    return {'in_channels': m.in_channels, 'out_channels': m.out_channels, 'kernel_size': m.kernel_size,
            'groups': m.groups, 'bias': False}


def test_named_modules_pairs_work_like_the_network():
    net = seeded(Zoo)
    assert FilterSpace(net.state_dict(), net.named_modules()).describe() == FilterSpace.of_network(net).describe()
    assert space_for_network(net).describe() == FilterSpace.of_network(net).describe()
    assert space_for_network(net.state_dict()).describe() == FilterSpace(net.state_dict()).describe()


def test_bad_shape_of_an_understood_layer_names_it():
    net = seeded(Zoo)
    for name, bad in (('fc.weight', torch.zeros(5, 7)), ('up.weight', torch.zeros(6, 2, 3, 3)),
                      ('c1.weight', torch.zeros(4, 3, 3, 1))):
        state = dict(net.state_dict())
        state[name] = bad
        with pytest.raises(InputError, match=name.replace('.', r'\.')):
            FilterSpace(state, net)
    state = {**net.state_dict(), 'ghost.weight': torch.zeros(2, 2)}
    with pytest.raises(InputError, match=r'ghost\.weight'):
        FilterSpace(state, net)


# ---- conv-only networks: identical to the original's indexing -------------------------------

@pytest.mark.parametrize('name', ['srresnet', 'srcnn_style'])
def test_paper_networks_index_as_the_plain_rule_with_and_without_module_info(name):
    net = build_network(preset(name, 2))
    state = net.state_dict()
    plain, aware = FilterSpace(state), FilterSpace.of_network(net)
    assert plain.num_filters == aware.num_filters == NETWORKS[name].num_filters_x2
    assert [(e.name, e.shape, e.offset) for e in plain.entries] == [(e.name, e.shape, e.offset) for e in aware.entries]
    assert plain.describe()['digest'] == aware.describe()['digest']
    ref = literal_plain_rule(state)
    assert len(ref) == plain.num_filters
    for k in np.random.default_rng(0).choice(len(ref), 300, replace=False).tolist() + [0, len(ref) - 1]:
        assert plain.locate(k) == aware.locate(k) == ref[k]
    g = torch.Generator().manual_seed(0)
    grads = {e.name: torch.randn(e.shape, generator=g) for e in plain.entries}
    assert torch.equal(plain.per_filter(grads), aware.per_filter(grads))
    chosen = np.random.default_rng(1).choice(plain.num_filters, 500, replace=False)
    for key, mask in plain.masks(chosen).items():
        assert torch.equal(mask, aware.masks(chosen)[key])
        full = plain.weight_mask(key, mask)
        assert torch.equal(full, mask.view(*mask.shape, 1, 1).expand_as(state[key]))


def test_swinir_linear_layers_are_filters_and_its_tables_are_not():
    net = build_network(TINY_SWINIR)
    space = FilterSpace.of_network(net)
    kinds = space.describe()['kinds']
    assert kinds == {'conv': 4, 'linear': 8}
    assert not any('relative_position' in n or 'absolute_pos_embed' in n or 'norm' in n for n in space.names)
    assert 'absolute_pos_embed' in net.state_dict() and any('attn_mask' in k for k in net.state_dict())
    assert space.num_filters == len(literal_filters(net))
    assert FilterSpace(net.state_dict()).num_filters < space.num_filters  # the 4-D rule sees only its convs


# ---- FAIG, masking and modulation on networks with every kind ------------------------------

def pair_with_partial_change(net, seed=0):
    """(baseline, target, space, changed filter mask per name): each filter of the target moved with
    probability 1/2, every other float tensor moved."""
    space = FilterSpace.of_network(net)
    g = torch.Generator().manual_seed(seed)
    baseline = {k: v.clone() for k, v in net.state_dict().items()}
    changed = torch.rand(space.num_filters, generator=g) < 0.5
    indices = np.flatnonzero(changed.numpy())
    masks = space.weight_masks(indices)
    target = {}
    for k, v in baseline.items():
        if not v.is_floating_point():
            target[k] = v.clone()
            continue
        step = 0.03 * torch.randn(v.shape, generator=g, dtype=v.dtype)
        target[k] = v + (step * masks[k] if k in masks else step)
    return baseline, target, space, changed.numpy()


def run_images(size, seed=1):
    g = torch.Generator().manual_seed(seed)
    lr = [torch.rand(1, 3, *size, generator=g, dtype=torch.float64) for _ in range(2)]
    gt = torch.rand(1, 3, size[0] * 2, size[1] * 2, generator=g, dtype=torch.float64)
    return {'blur': lr[0], 'noise': lr[1]}, gt


@pytest.mark.parametrize('opt, size', [(TINY_SWINIR, (16, 16)), (TINY_RRDB, (8, 8)), (TINY_EDSR, (8, 8))],
                         ids=['swinir', 'rrdbnet', 'edsr'])
def test_faig_scores_every_filter_and_masking_round_trips(opt, size):
    torch.manual_seed(0)
    net = build_network(opt).double().eval()
    baseline, target, space, changed = pair_with_partial_change(net)
    path = ParameterPath(net, baseline, target)
    inputs, gt = run_images(size)
    scores, completeness = faig_image(space, path, inputs, gt, n_steps=8, method='gauss_legendre')
    for deg, s in scores.items():
        assert s.shape == (space.num_filters, ) and np.isfinite(s).all()
        assert (s[~changed] == 0).all()  # no weight change, no attribution
        assert (s[changed] != 0).mean() > 0.9
        total, expected, error = completeness[deg]
        assert abs(error) <= 1e-2 * abs(expected), (deg, total, expected)  # GL-8 across LeakyReLU kinks: ~1e-3
    linear = [e for e in space.entries if e.kind == 'linear']
    if opt is TINY_SWINIR:
        assert linear
        for e in linear:
            part, moved = scores['blur'][e.offset:e.offset + e.count], changed[e.offset:e.offset + e.count]
            assert (part[moved] != 0).all(), e.name
    check_masking_and_modulation(space, baseline, target, rank(scores['blur'])[:max(1, space.num_filters // 20)])


def check_masking_and_modulation(space, baseline, target, top):
    ref = {}
    for k in top:
        name, o, i = space.locate(k)
        ref.setdefault(name, []).append((o, i))
    masked = substitute_filters(baseline, target, top, space)
    for e in space.entries:
        view_m, view_b, view_t = (e.to_filters(d[e.name]) for d in (masked, baseline, target))
        chosen = torch.zeros(e.out_channels, e.in_channels, dtype=torch.bool)
        for o, i in ref.get(e.name, []):
            chosen[o, i] = True
        assert torch.equal(view_m[chosen], view_b[chosen]) and torch.equal(view_m[~chosen], view_t[~chosen]), e.name
    for k in target:
        if k not in space.names:
            assert torch.equal(masked[k], target[k]), k
    restored = substitute_filters(target, masked, top, space)
    assert all(torch.equal(restored[k], target[k]) for k in target)
    zero = modulate_filters(baseline, target, top, 0.0, space)
    assert all(torch.equal(zero[k], masked[k]) for k in target)
    one = modulate_filters(baseline, target, top, 1.0, space)
    assert all(torch.equal(one[k], target[k]) for k in target)
    half = modulate_filters(baseline, target, top, 0.5, space)
    for name, mask in space.weight_masks(top).items():
        assert torch.equal(half[name][mask], 0.5 * target[name][mask] + 0.5 * baseline[name][mask])
        assert torch.equal(half[name][~mask], target[name][~mask])


def test_faig_on_a_conv_transpose_linear_conv1d_net_matches_the_literal_reference():
    torch.manual_seed(0)
    net = UpNet().double()
    baseline, target, space, _ = pair_with_partial_change(net)
    assert {e.kind for e in space.entries} == {'conv', 'conv_transpose', 'linear'}
    inputs, gt = run_images((5, 4))
    scores, _ = faig_image(space, ParameterPath(net, baseline, target), inputs, gt, n_steps=3)
    for deg, img in inputs.items():
        ref = literal_faig(lambda: UpNet().double(), baseline, target, img, gt, 3, net)
        np.testing.assert_allclose(scores[deg], ref, rtol=1e-6, atol=1e-8 * np.abs(ref).max())  # scores are float32
    check_masking_and_modulation(space, baseline, target, rank(scores['noise'])[:10])


def test_weight_change_and_count_changed_on_every_kind():
    torch.manual_seed(0)
    net = Zoo()
    baseline, target, space, changed = pair_with_partial_change(net)
    assert count_changed(space, baseline, target) == int(changed.sum())
    ref = literal_filters(net)
    scores = absolute_filter_change(space, baseline, target)
    expected = [float(((target[n][p] - baseline[n][p]).abs() / baseline[n][p].abs().sum()).sum()) for n, _, _, p in ref]
    np.testing.assert_allclose(scores, expected, rtol=1e-5)


def test_retraining_a_swinir_moves_only_the_chosen_linear_and_conv_filters(tmp_path):
    from faig.models.retrain_model import ReTrainModel
    from test_retrain import model_options, pretrained, steps
    opt = {**TINY_SWINIR, 'img_size': 8, 'ape': False}
    path, state, _ = pretrained(tmp_path, opt)
    space = space_for_network(build_network(opt))
    fc = space.entry('layers.0.residual_group.blocks.0.mlp.fc1.weight')
    chosen = sorted({0, fc.offset, fc.offset + 7, space.num_filters - 1})
    model = ReTrainModel(model_options(opt, path, {'finetuned_filters': chosen}, ema=0))
    assert sorted(model.update_masks) == sorted({space.locate(i)[0] for i in chosen})
    steps(model, 4, opt)
    now = model.net_g.state_dict()
    masks = space.weight_masks(chosen)
    for name, value in now.items():
        if name in masks:
            assert torch.equal(value[~masks[name]], state[name][~masks[name]]), name
        else:
            assert torch.equal(value, state[name]), name
    for i in chosen:
        name, o, c = space.locate(i)
        e = space.entry(name)
        assert not torch.equal(e.to_filters(now[name])[o, c], e.to_filters(state[name])[o, c]), i


# ---- layer selection and the space record ---------------------------------------------------

def test_layers_select_include_exclude_with_local_indices():
    net = build_network(preset('srresnet', 2))
    full = FilterSpace.of_network(net)
    body = space_for_network(net, 'body.*,!body.0.conv1.weight')
    assert all(n.startswith('body.') for n in body.names) and 'body.0.conv1.weight' not in body.names
    assert body.names == [n for n in full.names if n.startswith('body.') and n != 'body.0.conv1.weight']
    assert body.entries[0].offset == 0 and body.locate(0) == (body.names[0], 0, 0)
    assert body.num_filters == sum(e.count for e in full.entries if e.name in body.names)
    # module names match too; a list form equals the string form
    assert space_for_network(net, ['conv_first', 'conv_last']).names == ['conv_first.weight', 'conv_last.weight']
    assert parse_layers(' body.*, !conv_last.weight ,') == ('body.*', '!conv_last.weight')
    assert parse_layers(None) is None and parse_layers('') is None
    assert space_for_network(net, '!conv_last*').names == full.names[:-1]
    record = body.describe()
    assert record['layers'] == ['body.*', '!body.0.conv1.weight'] and record['num_filters'] == body.num_filters
    assert record['digest'] != full.describe()['digest'] and full.describe()['layers'] is None


def test_layers_errors_name_the_pattern():
    net = build_network(TINY_SWINIR)
    with pytest.raises(InputError, match="'bodyy.*'"):
        space_for_network(net, 'bodyy.*')
    with pytest.raises(InputError, match="'!nothing'"):
        space_for_network(net, 'conv_first,!nothing')
    with pytest.raises(InputError, match='leaves no filter layer'):
        space_for_network(net, 'conv_first,!conv_first')
    with pytest.raises(InputError, match='relative_position_bias_table'):  # a tensor that is not a filter
        space_for_network(net, '*relative_position_bias_table')
    linear_only = space_for_network(net, '*.attn.*,*.mlp.*')
    assert linear_only.describe()['kinds'] == {'linear': 8}


def test_describe_is_json_and_verify_checks_the_rebuilt_space():
    import json
    net = build_network(TINY_SWINIR)
    space = space_for_network(net, 'layers.*')
    record = json.loads(json.dumps(space.describe()))
    space_for_network(build_network(TINY_SWINIR), record['layers']).verify(record)
    with pytest.raises(InputError, match='another filter space'):
        space_for_network(net).verify(record, 'meta.json')
    assert FilterSpace(net.state_dict()).describe()['digest'] != space_for_network(net).describe()['digest']


def test_no_filters_is_an_input_error_and_a_value_error():
    with pytest.raises(InputError, match='nothing to attribute') as info:
        FilterSpace({'bias': torch.zeros(3), 'table': torch.zeros(2, 3)})
    assert isinstance(info.value, ValueError)  # what callers caught before
    with pytest.raises(InputError, match='nothing to attribute'):
        FilterSpace.of_network(nn.Sequential(nn.LayerNorm(4)))
