"""The report section of one FAIG study of any degradation pair (e.g. JPEG vs noise), as markdown.

reproduce.py's results/report.md covers the bundled blur/noise study; a study run by hand with the
analysis tools (analysis/tools/<net>/faig.py --deg_a/--deg_b, then comparison.py) gets the same
tables and finding checks here, worded by the pair's degradation specs (faig/specs.py). The pair is
the one the FAIG rankings' meta.json records. Example (docs/jpeg_vs_noise.md):

    python scripts/pair_report.py --net srcnn_style \\
        --rankings results/Interpret/neuron-search/srcnn_style_jpeg/SampleSet_jn_crop64/faig \\
        --metrics results/Interpret/metrics/srcnn_style_jpeg/SampleSet_jn_crop64 \\
        --target_model_path experiments/cpu_train_srcnn_style_jpeg_noise/models/net_g_latest.pth \\
        --baseline_psnr_json results/jpeg_vs_noise/baseline_psnr.json \\
        --target_psnr_json results/jpeg_vs_noise/target_psnr.json --out results/jpeg_vs_noise/report.md
"""
import argparse
import glob
import os.path as osp

from faig.cli.args import Parser, require_file, require_folder, require_output_file
from faig.errors import InputError, cli
from faig.specs import NETWORKS, ResultsLayout
from faig.store import check_not_inputs, check_provenance, read_record, state_digest


def parse_args(argv=None):
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--net', default=None, choices=sorted(NETWORKS),
                        help="the rankings' network (default: the registered one of the arch their meta.json names)")
    parser.add_argument('--rankings', required=True,
                        help="the FAIG rankings' folder (meta.json, <deg>_index.txt, per_image_scores.npz)")
    parser.add_argument('--metrics', required=True, help="the comparison's folder (comparison.csv, comparison.md)")
    parser.add_argument('--target_model_path', required=True, help='the target the rankings were made for')
    parser.add_argument('--baseline_psnr_json', default=None, help="inference's --psnr_json of the baseline")
    parser.add_argument('--target_psnr_json', default=None, help="inference's --psnr_json of the target")
    parser.add_argument('--figures', default=None, help="the comparison's --figure_folder (its PNGs are shown)")
    parser.add_argument('--heading', default=None, help='section heading (default: <net>: <a> vs <b> filters)')
    parser.add_argument('--out', required=True, help='markdown file to write')
    return parser.parse_args(argv)


def read_psnr(path, flag):
    require_file(path, flag)
    psnr = read_record(path, f'PSNR file of inference --psnr_json ({flag})').get('psnr')
    if not isinstance(psnr, dict):
        raise InputError(f'{path}: not a PSNR file of inference --psnr_json (no psnr entry) ({flag})')
    return psnr


def check_network(net, meta_path):
    """The network of --net, or without it the registered network of the rankings' arch; the rankings' record
    must be readable and name that network (the report's words and filter locations are that network's)."""
    meta = read_record(meta_path, 'ranking record (--rankings)')
    recorded = (meta.get('network') or {}).get('type') if isinstance(meta.get('network'), dict) else None
    others = [name for name, spec in NETWORKS.items() if spec.arch_type == recorded]
    if net is None:
        if not others:
            raise InputError(f'--net: the rankings ({meta_path}) name no registered network ({recorded or "no arch"}); '
                             f'pass one of {", ".join(sorted(NETWORKS))}')
        return others[0]
    expected = NETWORKS[net].arch_type
    if recorded and expected and recorded != expected:
        hint = f'; pass --net {others[0]}' if others else ''
        raise InputError(f'--net {net}: the rankings were made for {recorded} ({meta_path}), not for {expected}{hint}')
    return net


@cli
def main(argv=None):
    args = parse_args(argv)
    require_folder(args.rankings, '--rankings')
    for name in ('meta.json', ):
        require_file(osp.join(args.rankings, name), '--rankings')
    require_folder(args.metrics, '--metrics')
    for name in (ResultsLayout.COMPARISON_CSV, ResultsLayout.COMPARISON_MD):
        require_file(osp.join(args.metrics, name), '--metrics')
    require_file(args.target_model_path, '--target_model_path')
    if (args.baseline_psnr_json is None) != (args.target_psnr_json is None):
        raise InputError('--baseline_psnr_json/--target_psnr_json: give both or neither')
    psnr = None
    if args.baseline_psnr_json:
        psnr = {'baseline': read_psnr(args.baseline_psnr_json, '--baseline_psnr_json'),
                'target': read_psnr(args.target_psnr_json, '--target_psnr_json')}
        missing = sorted(set(psnr['target']) - set(psnr['baseline']))
        if missing:
            raise InputError(f'{args.baseline_psnr_json}: no PSNR of {", ".join(missing)} (--baseline_psnr_json; '
                             'run the baseline on the same folders)')
    if args.figures:
        require_folder(args.figures, '--figures')
    net = check_network(args.net, osp.join(args.rankings, 'meta.json'))
    from faig.networks import load_params
    check_provenance(args.rankings, {'target': state_digest(load_params(args.target_model_path))})
    require_output_file(args.out, '--out')
    check_not_inputs({'--out': args.out}, {'--rankings': args.rankings, '--metrics': args.metrics},
                     input_files={'--target_model_path': args.target_model_path,
                                  '--baseline_psnr_json': args.baseline_psnr_json,
                                  '--target_psnr_json': args.target_psnr_json})

    from faig.data.image_io import write_bytes
    from faig.reporting.network import pair_section
    out_dir = osp.dirname(osp.abspath(args.out))
    figures = [(osp.splitext(osp.basename(p))[0].replace('_', ' '), osp.relpath(p, out_dir))
               for p in sorted(glob.glob(osp.join(args.figures, '*.png')))] if args.figures else []
    lines, findings, pair = pair_section('.', net, args.metrics, args.rankings, args.target_model_path, psnr,
                                         figures, heading=args.heading)
    write_bytes(args.out, ('\n'.join(lines) + '\n').encode())
    for f in findings:
        print(f'{f["id"]}: {"holds" if f["holds"] else "does not hold"} — {f["title"]}')
    print(f'{" vs ".join(pair)} -> {args.out}')


if __name__ == '__main__':
    main()
