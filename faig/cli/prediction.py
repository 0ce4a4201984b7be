"""analysis/scripts/predict_degradation.py: an LR image's degradation from the discovered filters (finding 3).

The arguments are checked, and every input image read, before the first file is written; outputs never go
into a folder the run reads (faig.store)."""
import contextlib
import csv
import dataclasses
import io
import os.path as osp

from faig.cli.args import (Parser, add_pair_args, network_option, pair_names, percent, positive_int, require_file,
                           require_folder, require_output_file, require_output_folder, resolve_device)
from faig.errors import InputError, cli
from faig.evaluation.degradation_predictor import accuracy, class_labels, confusion_matrix, feature_names
from faig.outputs import network_label
from faig.paths import dataset_name, default_model, default_test_root
from faig.attribution.methods import METHODS as RANKING_METHODS
from faig.reporting.prediction import confusion_markdown
from faig.specs import DEFAULT_PAIR, NETWORKS, ResultsLayout
from faig.store import FolderLock, check_not_inputs, commit_files, folder_locks, real

DEFAULT_LABELS = ', '.join(class_labels(DEFAULT_PAIR))
DESCRIPTION = (f'Predict the degradation of LR images (clean / <a> / <b> / <a>_<b>; default {DEFAULT_LABELS}) from '
               'two numbers: the output difference of the target when the top-p % filters of each degradation are '
               'masked. Thresholds come from a labelled calibration folder (--calibration DIR), a '
               'saved calibration (--calibration FILE.json), or the calibration saved beside the ranking '
               '(--fit_calibration DIR makes it). Labelled folders: DIR/<label>/[<level>/]*.png.')

DEFAULT_NET = next(iter(NETWORKS))  # the first registered: the paper's MSRResNet


def default_dataset(net, method, deg):
    """The rankings of reproduce.py's default budget (<test set>_crop64) when they exist, else the whole test set's."""
    root = dataset_name(default_test_root())
    for name in (f'{root}_crop64', root):
        if osp.isfile(osp.join(ResultsLayout(net, name).rankings(method), f'{deg}_index.txt')):
            return name
    return f'{root}_crop64'


def build_parser(argv):
    """The parser (model defaults follow --net, so --net is read first by a pre-parser without -h)."""
    first = Parser(add_help=False)
    first.add_argument('--net', default=DEFAULT_NET, choices=sorted(NETWORKS))
    known, _ = first.parse_known_args(argv)
    net = known.net
    parser = Parser(description=DESCRIPTION)
    parser.add_argument('--net', default=DEFAULT_NET, choices=sorted(NETWORKS),
                        help='network: names the default models and ranking folder')
    parser.add_argument('--input_folder', default=None, metavar='DIR',
                        help=f'LR images, or one subfolder per true label ({DEFAULT_LABELS}), each with '
                        'images or level subfolders')
    parser.add_argument('--save_csv', default=None, metavar='FILE',
                        help='per-image CSV: image, the two numbers, predicted, true (when labelled)')
    parser.add_argument('--save_plot', default=None, metavar='FILE',
                        help='scatter plot of the two numbers (coloured by true label) with the thresholds (.png)')
    parser.add_argument('--calibration', default=None, metavar='DIR|FILE',
                        help='labelled folder to fit the thresholds on for this run, or a calibration .json '
                        '(default: the calibration saved beside the ranking)')
    parser.add_argument('--fit_calibration', default=None, metavar='DIR',
                        help='fit the thresholds on this labelled folder and save them beside the ranking '
                        '(prediction_calibration_<a>_<b>_p<p>.json); with --input_folder, then predict with them')
    parser.add_argument('--calibration_levels', nargs='+', default=None, metavar='LEVEL',
                        help='fit on these level folders of the calibration folder only (e.g. clean blur2 noise25.5 '
                        'blur2_noise25.5, the trained levels); default every image')
    parser.add_argument('--proportion', type=percent, default=1, help='percent of filters masked (default 1)')
    parser.add_argument('--baseline_model_path', default=default_model(net, 'baseline'))
    parser.add_argument('--target_model_path', default=default_model(net, 'target'))
    parser.add_argument('--dataset', default=None,
                        help='data set of the rankings: results/Interpret/neuron-search/<net>/<dataset>/<method> '
                        f'(default {dataset_name(default_test_root())}_crop64, the rankings of reproduce.py, when they '
                        'exist, else the whole test set\'s)')
    parser.add_argument('--method', default='faig', choices=list(RANKING_METHODS),
                        help='ranking method of the default ranking folder (default faig)')
    parser.add_argument('--ranking_folder', default=None, metavar='DIR',
                        help='folder with <deg_a>_index.txt and <deg_b>_index.txt (overrides --dataset/--method)')
    add_pair_args(parser)
    parser.add_argument('--scale', type=positive_int, default=2, help='scale ratio')
    parser.add_argument('--network_g', default=None,
                        help=f'network options: YAML file (or its network_g) or inline YAML; default: {net} preset')
    parser.add_argument('--param_key', default=None, help='checkpoint key (default: params_ema, else params)')
    parser.add_argument('--device', default=None, help='cuda, cuda:<n> or cpu (default: cuda when available)')
    parser.add_argument('--allow_other_models', action='store_true',
                        help="use a ranking whose meta.json records other models than those given (said in the "
                        "output and recorded)")
    parser.add_argument('--force', action='store_true',
                        help='with --fit_calibration: replace a saved calibration fitted with other settings or images')
    return parser, net


def check_outputs(args, calibration_file, inputs, input_files):
    """Output files: the right kind, writable, distinct, and outside every folder and file the run reads."""
    outputs = {}
    for flag, path, endings in (('--save_csv', args.save_csv, ('.csv',)), ('--save_plot', args.save_plot, ('.png',))):
        if path is None:
            continue
        if not path.lower().endswith(endings):
            raise InputError(f'{path}: {flag} must name a {" or ".join(endings)} file')
        require_output_file(path, flag)
        outputs[flag] = path
    if calibration_file:
        require_output_folder(osp.dirname(calibration_file) or '.', '--fit_calibration (saved beside the ranking)')
        outputs['--fit_calibration (the saved calibration)'] = calibration_file
    seen = {}
    for flag, path in outputs.items():
        if real(path) in seen:
            raise InputError(f'{path}: {flag} and {seen[real(path)]} name the same file')
        seen[real(path)] = flag
    check_not_inputs(outputs, inputs, input_files=input_files)


def summary_lines(rows, labels, calibration, where='images predicted'):
    predicted = [r['predicted'] for r in rows]
    counts = ', '.join(f'{predicted.count(label)} {label}' for label in labels)
    lines = [f'rule: {calibration.describe()}', f'{len(rows)} {where}: {counts}']
    true = [r['true'] for r in rows]
    if all(true):
        lines.append(f'4-class accuracy: {100 * accuracy(true, predicted):.1f} % (rows: true, columns: predicted)')
        lines += confusion_markdown(confusion_matrix(true, predicted, labels), labels)
    return lines


@cli
def predict_main(argv=None):
    parser, net = build_parser(argv)
    args = parser.parse_args(argv)
    # torch and matplotlib load after the arguments: --help answers without them
    from faig.evaluation.prediction_inputs import (calibration_path, calibration_run_key, check_calibration,
                                                   claim_calibration, fit_filter_calibration, image_size,
                                                   labelled_images, load_images, prepare_predictor, read_calibration,
                                                   read_input_folder, save_calibration)
    from faig.figures import figure_png, prediction_scatter_figure
    if args.input_folder is None and args.fit_calibration is None:
        raise InputError('--input_folder: required (or --fit_calibration DIR alone, to fit and save the thresholds)')
    if args.calibration is not None and args.fit_calibration is not None:
        raise InputError('--calibration: give it or --fit_calibration, not both')
    if args.calibration_levels and not (args.fit_calibration or (args.calibration and osp.isdir(args.calibration))):
        raise InputError('--calibration_levels: only with a calibration folder (--calibration DIR or '
                         '--fit_calibration DIR)')
    if args.save_csv and args.input_folder is None:
        raise InputError('--save_csv: needs --input_folder (the CSV holds the predictions of its images)')
    degs = pair_names(args)
    opt = network_option(args, net)
    label = network_label(net, opt)
    dataset = args.dataset or default_dataset(label, args.method, degs[0])
    ranking_folder = args.ranking_folder or ResultsLayout(label, dataset).rankings(args.method)
    inputs = {}
    if args.input_folder is not None:
        require_folder(args.input_folder, '--input_folder')
        inputs['--input_folder'] = args.input_folder
    if args.fit_calibration is not None:
        require_folder(args.fit_calibration, '--fit_calibration')
        inputs['--fit_calibration'] = args.fit_calibration
    calibration_json = None
    if args.calibration is not None:
        if osp.isdir(args.calibration):
            inputs['--calibration'] = args.calibration
        elif osp.isfile(args.calibration):
            calibration_json = args.calibration
        else:
            raise InputError(f'{args.calibration}: not found (--calibration: a labelled folder or a calibration .json)')
    require_file(args.baseline_model_path, '--baseline_model_path')
    require_file(args.target_model_path, '--target_model_path')
    require_folder(ranking_folder, '--ranking_folder' if args.ranking_folder else '--dataset/--method (ranking folder)')
    for deg in degs:
        require_file(osp.join(ranking_folder, f'{deg}_index.txt'), '--ranking_folder')
    saved = calibration_path(ranking_folder, degs, args.proportion)
    if args.input_folder is not None and args.calibration is None and args.fit_calibration is None:
        if not osp.isfile(saved):
            raise InputError(f'{saved}: no calibration saved beside the ranking; fit one with --fit_calibration DIR '
                             '(e.g. datasets/DegradationSet/calibration, scripts/make_degradation_set.py) or pass '
                             '--calibration DIR')
        calibration_json = saved
    input_files = {'--baseline_model_path': args.baseline_model_path, '--target_model_path': args.target_model_path,
                   **{f'ranking of {deg}': osp.join(ranking_folder, f'{deg}_index.txt') for deg in degs},
                   **({'--calibration': calibration_json} if calibration_json else {})}
    check_outputs(args, saved if args.fit_calibration else None, inputs, input_files)
    # fitting: the ranking folder is locked from the claim on its calibration file to the write (no other
    # run replaces the rankings read, or saves a calibration there, meanwhile)
    held = folder_locks(osp.dirname(saved) or '.') if args.fit_calibration else contextlib.nullcontext()
    with held:
        device = resolve_device(args.device)
        setup = prepare_predictor(net, opt, args.scale, args.baseline_model_path, args.target_model_path,
                                     ranking_folder, degs, args.proportion, args.param_key, str(device),
                                     args.allow_other_models)
        # every image is read (and checked) before any number is computed or any file written
        calibration_set = args.fit_calibration or (args.calibration if '--calibration' in inputs else None)
        if calibration_set:
            flag = '--fit_calibration' if args.fit_calibration else '--calibration'
            cal_entries, cal_images = labelled_images(calibration_set, degs, setup.channels, flag,
                                                         args.calibration_levels)
            if args.fit_calibration:  # before any work: another run's calibration is replaced only with --force
                claim_calibration(saved, calibration_run_key(setup.key, cal_entries), args.force)
        entries = images = None
        if args.input_folder is not None:
            entries = read_input_folder(args.input_folder, degs)
            images = load_images(entries, setup.channels)
        if calibration_set and images is not None and image_size(images) != image_size(cal_images):
            size = image_size(cal_images)
            raise InputError(f'{args.input_folder}: images of {"x".join(map(str, image_size(images)))} pixels, those '
                             f'of {calibration_set} {size[0]}x{size[1]}; the thresholds hold for one size')
        if calibration_set:
            calibration, cal_values = fit_filter_calibration(setup.features, cal_entries, cal_images, setup.key,
                                                                calibration_set, degs)
        else:
            calibration = read_calibration(calibration_json)
            if tuple(calibration.degradations) != tuple(degs):
                raise InputError(f'{calibration_json}: fitted for {"/".join(calibration.degradations)}, not '
                                 f'{"/".join(degs)}')
            check_calibration(calibration, setup.key, calibration_json, image_size(images))

        labels = class_labels(degs)
        rows = []
        if images is not None:
            values = setup.features.measure(images)
            predicted = calibration.predict([values[e.name] for e in entries])
            rows = [{'image': e.name, 'values': values[e.name], 'predicted': p, 'true': e.label}
                    for e, p in zip(entries, predicted)]
        files = {}
        if args.save_csv and rows:
            files[args.save_csv] = csv_bytes(rows, degs)
        if args.save_plot:
            shown = rows or [{'values': cal_values[e.name], 'true': e.label} for e in cal_entries]
            what = args.input_folder if rows else f'calibration images {calibration_set}'
            true = [r['true'] for r in shown]
            files[args.save_plot] = figure_png(prediction_scatter_figure(
                [r['values'] for r in shown], true if all(true) else None, calibration, f'{label}: {what}',
                args.proportion))
        if args.fit_calibration:
            info = {**calibration.info, 'accepted_provenance_problems': setup.accepted}
            save_calibration(dataclasses.replace(calibration, info=info), saved, args.force)
            print(f'calibration ({len(cal_entries)} images of {calibration_set}) -> {saved}')
        write_together(files)
    if setup.accepted:
        print(f'note: ranking used with other models (--allow_other_models): {"; ".join(setup.accepted)}')
    if rows:
        lines = summary_lines(rows, labels, calibration)
    else:  # fitting alone: how the thresholds do on the images they were fitted on
        fitted = calibration.predict([cal_values[e.name] for e in cal_entries])
        lines = summary_lines([{'predicted': p, 'true': e.label} for e, p in zip(cal_entries, fitted)], labels,
                              calibration, 'calibration images (the thresholds\' own fitting set), predicted')
    print('\n'.join(lines))
    for path in files:
        print(f'-> {path}')
    return rows


def write_together(files):
    """{path: bytes} written per folder as one commit (faig.store.commit_files), each folder locked."""
    by_folder = {}
    for path, data in files.items():
        by_folder.setdefault(osp.dirname(path) or '.', {})[osp.basename(path)] = data
    for folder, named in by_folder.items():
        with FolderLock(folder):
            commit_files(folder, named)


def csv_bytes(rows, degradations):
    """The CSV: image, the two numbers, predicted (and true, when the folders are labelled)."""
    labelled = any(row.get('true') for row in rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(['image', *feature_names('filters', degradations), 'predicted', *(['true'] if labelled else [])])
    for row in rows:
        writer.writerow([row['image'], *(f'{v:.6f}' for v in row['values']), row['predicted'],
                         *([row.get('true') or ''] if labelled else [])])
    return buffer.getvalue().encode()
