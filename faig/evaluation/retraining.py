"""Finding 2 from a retraining study's record (scripts/retrain_study.py -> results/retrain_study/<net>/study.json):
how much of the target's gain each selection of retrained filters recovers, and what permuting the
discovered filters' connections does beside masking them. Shared by the study script and the report."""
import numpy as np

from faig.specs import DEFAULT_PAIR, DEGRADATIONS
from faig.tables import markdown_table

SELECTIONS = ('faig', 'random', 'random_per_layer', 'ig', 'abs_filter_change')
LABELS = {'faig': 'FAIG', 'random': 'random', 'random_per_layer': 'random, FAIG per-layer counts', 'ig': 'IG',
          'abs_filter_change': '|θ−θ̄|'}
CLEAN = 'clean'  # the clean test set's key in a study record, beside the degradations'
TEST_SETS = (CLEAN, *DEFAULT_PAIR)
FUNCTION_TITLES = {name: (spec.function[0].upper() + spec.function[1:], spec.adjective)
                   for name, spec in DEGRADATIONS.items()}


def mean(values):
    return float(np.mean(list(values)))


def recovered_share(run_psnr, base_psnr, target_psnr, deg):
    """(share of the mean, {image: share}) of the target's PSNR gain on the ``deg`` set that a run recovers:
    (PSNR_run − PSNR_baseline) / (PSNR_target − PSNR_baseline)."""
    per = {img: (run_psnr[deg][img] - base_psnr[deg][img]) / (target_psnr[deg][img] - base_psnr[deg][img])
           for img in run_psnr[deg]}
    gain = mean(target_psnr[deg].values()) - mean(base_psnr[deg].values())
    return (mean(run_psnr[deg].values()) - mean(base_psnr[deg].values())) / gain, per


def runs_of(study, deg, iterations=None):
    """{selection: run} of one function (the latest budget when ``iterations`` is None), in the table's order."""
    baseline = study.get('reference', {}).get('models', {}).get('baseline')
    runs = [r for r in study.get('runs', {}).values() if r['function'] == deg  # and trained from this baseline
            and (baseline is None or r.get('key', {}).get('baseline_sha1', baseline) == baseline)]
    if not runs:
        return {}
    iterations = iterations or max(r['iterations'] for r in runs)
    chosen = {r['selection']: r for r in runs if r['iterations'] == iterations}
    return {s: chosen[s] for s in SELECTIONS if s in chosen}


def shares(study, deg, iterations=None):
    """{selection: (share, {image: share})} on the matching set."""
    ref = study['reference']['psnr']
    return {s: recovered_share(r['psnr'], ref['baseline'], ref['target'], deg)
            for s, r in runs_of(study, deg, iterations).items()}


def findings(study, degs=DEFAULT_PAIR):
    """The paper's claims as checks: FAIG's filters recover >= 2x the random selection's share, and permuting
    them within their layers removes the function about as much as masking them (>= half the change)."""
    out = []
    for deg in degs:
        s = shares(study, deg)
        if 'faig' in s and 'random' in s:
            faig, rand = s['faig'][0], s['random'][0]
            per = [s['faig'][1][i] >= 2 * s['random'][1][i] for i in s['faig'][1]]
            ahead = [k for k, (v, _) in s.items() if k != 'faig' and v > faig]
            ratio = faig / rand if rand > 0 else float('inf')
            out.append({'id': f'2-retrain-{deg}', 'holds': bool(faig >= 2 * rand and faig > 0),
                        'text': f'{FUNCTION_TITLES[deg][0].lower()} filters: FAIG recovers {faig:.3f} of the gain, '
                                f'random {rand:.3f} ({ratio:.1f}×; goal ≥ 2×)'
                                + (f'; selections that recover more than FAIG: {", ".join(LABELS[k] for k in ahead)}'
                                   if ahead else '; FAIG recovers the most of all selections'),
                        'numbers': {'faig': faig, 'random': rand, 'ratio': ratio, 'threshold': 2.0,
                                    'ahead_of_faig': {k: s[k][0] for k in ahead}},
                        'per_image': {'holds': int(sum(per)), 'images': len(per)}})
        conn = study.get('connections', {}).get(deg)
        if conn:
            ratio = conn['permuted']['mean'] / conn['masked']['mean'] if conn['masked']['mean'] else float('nan')
            per = [conn['permuted']['per_image'][i] >= 0.5 * conn['masked']['per_image'][i]
                   for i in conn['masked']['per_image']]
            out.append({'id': f'2-connections-{deg}', 'holds': bool(ratio >= 0.5),
                        'text': f'permuting the {FUNCTION_TITLES[deg][0].lower()} filters within their layers changes '
                                f'the output {ratio:.2f}× as much as masking them',
                        'numbers': {'ratio': ratio, 'threshold': 0.5},
                        'per_image': {'holds': int(sum(per)), 'images': len(per)}})
    return out


def markdown(study, net, degs=DEFAULT_PAIR):
    """The tables of the study (per function: PSNRs and recovered share of each selection; connections)."""
    ref = study['reference']['psnr']
    lines = []
    for deg in degs:
        runs = runs_of(study, deg)
        if not runs:
            continue
        title, adjective = FUNCTION_TITLES[deg]
        iterations = next(iter(runs.values()))['iterations']
        lines += [f'**{title} filters of {net} retrained on {adjective} data** (from the baseline, '
                  f'{next(iter(runs.values()))["filters"]} filters, {iterations} iterations each)', '']
        rows = [[label, *(f'{mean(row[t].values()):.2f}' for t in TEST_SETS), '', '', '']
                for label, row in (('baseline', ref['baseline']), ('target', ref['target']))]
        for selection, (share, per) in shares(study, deg).items():
            run = runs[selection]
            rows.append([LABELS[selection], *(f'{mean(run["psnr"][t].values()):.2f}' for t in TEST_SETS),
                         f'{share:.3f}', f'{min(per.values()):.3f} … {max(per.values()):.3f}',
                         f'{run["wall_seconds"] / 60:.0f} min'])
        lines += markdown_table(['selection', *(f'{CLEAN if t == CLEAN else FUNCTION_TITLES[t][1]} (dB)'
                                                for t in TEST_SETS),
                                 f"recovered share of the target's gain ({adjective} set)", 'per image (min … max)',
                                 'wall time'], rows)
        conn = study.get('connections', {}).get(deg)
        if conn:
            lines += ['', f'Connections ({adjective} crops, gradient-map MSE ×1000 against the target): masking the '
                      f'FAIG filters {conn["masked"]["mean"]:.4f}; permuting their kernels within each layer '
                      f'({conn["filters_moved"]} filters moved) {conn["permuted"]["mean"]:.4f}.']
        lines.append('')
    return '\n'.join(lines)
