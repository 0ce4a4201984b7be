"""The paper's third finding on the bundled models: predicting an input's degradation from the discovered filters,
beside what a user would pick instead.

    python scripts/predict_degradation_study.py --net srresnet      # about 9 min on 2 shared CPU cores
    python scripts/predict_degradation_study.py --net srcnn_style
    python scripts/predict_degradation_study.py --net srresnet --report_only   # markdown and figures again

1. The labelled set (scripts/make_degradation_set.py; made here with its defaults when ``--set_root`` has none):
   LR crops of the 6 test photos at 16 levels (clean; blur σ 1, 2, 3; noise σ 5, 15, 25.5 /255; every blur+noise
   combination), split by photo into a calibration and a test split.
2. Every image gets the filter-based pair of numbers -- the output difference (gradient-map MSE ×1000 against the
   target's output) with the top-p % FAIG deblurring filters masked, and with the top-p % denoising filters
   masked (faig.evaluation.prediction_inputs.FilterFeatures) --, the same pair divided by the gradient
   energy of the target's own output (the relative change), and the
   classical pair: variance of the Laplacian and skimage's estimate_sigma.
3. Thresholds of the three predictors (the same fitting: faig.evaluation.degradation_predictor.fit_calibration) are
   fitted on the calibration split twice: on its trained levels only (clean, blur σ 2, noise 0.1 and their
   combination: the degradations the target was fine-tuned on) and on every level. Nothing is fitted on the
   test split.
4. The predictors classify the test split into clean / blur / noise / blur_noise; accuracy overall, at the
   trained and at the other levels, per level, and confusion matrices go to
   ``results/degradation_prediction/<net>/{prediction.json, prediction.md, scatter.png, confusion.png,
   level_scatter.png}`` (per-image numbers in the JSON; level_scatter.png: the relative change per level). The
   project rule's calibration fitted on the trained levels is also saved beside the ranking, where
   ``analysis/scripts/predict_degradation.py`` finds it.
"""
import argparse
import dataclasses
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
from faig.attribution.ranking import json_bytes  # noqa: E402
from faig.cli.args import (Parser, percent, require_file, require_folder, require_output_folder,  # noqa: E402
                           resolve_device)
from faig.errors import InputError, cli  # noqa: E402
from faig.evaluation.degradation_predictor import (CLASSICAL_FEATURES, PREDICTORS, class_labels,  # noqa: E402
                                                   feature_names, relative_values)
from faig.evaluation.labelled_set import SPLITS, labelled_set_recipe, make_labelled_set, read_manifest  # noqa: E402
from faig.evaluation.prediction_study import (STUDY_FORMAT, fit_study, read_study, study_predictors,  # noqa: E402
                                              summaries)
from faig.paths import from_caller  # noqa: E402
from faig.reporting.prediction import study_markdown  # noqa: E402
from faig.specs import DEFAULT_PAIR, NETWORKS  # noqa: E402
from faig.stamps import data_digest  # noqa: E402
from faig.store import FolderLock, RunOutputs, check_not_inputs, commit_files, folder_locks  # noqa: E402

RESULT_FILES = ('prediction.json', 'prediction.md', 'scatter.png', 'confusion.png', 'level_scatter.png')


def build_parser():
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--net', default=next(iter(NETWORKS)), choices=sorted(NETWORKS))
    parser.add_argument('--set_root', default=None,
                        help='labelled set (made with scripts/make_degradation_set.py\'s defaults when missing; '
                        'default: datasets/DegradationSet)')
    parser.add_argument('--models_dir', default=None,
                        help='<net>/{baseline,target}_model.pth (default: the bundled pairs, experiments/pretrained)')
    parser.add_argument('--rankings_dir', default=None,
                        help='folder with the <degradation>_index.txt of the pair (default: the FAIG rankings of '
                        'reproduce.py, results/Interpret/neuron-search/<net>/SampleSet_crop64/faig)')
    parser.add_argument('--proportion', type=percent, default=1, help='percent of filters masked (default 1)')
    parser.add_argument('--device', default=None, help='cuda, cuda:<n> or cpu (default: cuda when available)')
    parser.add_argument('--out', default=None, help='default results/degradation_prediction/<net>')
    parser.add_argument('--no_saved_calibration', action='store_true',
                        help='do not save the filter-based calibration beside the ranking')
    parser.add_argument('--force', action='store_true',
                        help='replace the results (and the saved calibration) of a run with other settings')
    parser.add_argument('--report_only', action='store_true',
                        help='rewrite the markdown and figures from prediction.json')
    return parser


def parse_args(argv=None):
    args = build_parser().parse_args(argv)
    for name in ('set_root', 'models_dir', 'rankings_dir', 'out'):  # read after main's chdir to the repository
        if getattr(args, name) is not None:
            setattr(args, name, from_caller(getattr(args, name), ROOT))
    args.set_root = args.set_root or 'datasets/DegradationSet'
    args.models_dir = args.models_dir or 'experiments/pretrained'
    args.rankings_dir = args.rankings_dir or f'results/Interpret/neuron-search/{args.net}/SampleSet_crop64/faig'
    args.out = args.out or f'results/degradation_prediction/{args.net}'
    return args


def labelled_set(root):
    """The manifest of the labelled set at ``root``, made with the default recipe when there is none."""
    manifest = read_manifest(root)
    if manifest is None:
        print(f'making the labelled set -> {root}', flush=True)
        _, manifest = make_labelled_set(root, labelled_set_recipe('datasets/SampleSet/GTmod12'), flag='--set_root',
                                        overwrite_flag=None)
    return manifest


def report_files(study):
    from faig import figures  # matplotlib and torch: not for --help
    files = {'prediction.json': json_bytes(study), 'prediction.md': (study_markdown(study, '#') + '\n').encode(),
             'scatter.png': figures.figure_png(figures.prediction_study_scatter_figure(study)),
             'confusion.png': figures.figure_png(figures.prediction_confusion_figure(study))}
    if 'relative' in study_predictors(study):  # records made before the relative predictor have no per-level view
        files['level_scatter.png'] = figures.figure_png(figures.prediction_level_scatter_figure(study))
    return files


@cli
def main(argv=None):
    args = parse_args(argv)
    # torch loads after the arguments: --help answers without it
    from faig.evaluation.prediction_inputs import (calibration_path, calibration_run_key, claim_calibration,
                                                   image_size, labelled_images, measure_classical, prepare_predictor,
                                                   save_calibration)
    os.chdir(ROOT)
    if args.report_only:
        path = osp.join(args.out, 'prediction.json')
        if not osp.isfile(path):
            raise InputError(f'{path}: no study recorded yet; run without --report_only first')
        study = read_study(path)
        with FolderLock(args.out):
            commit_files(args.out, report_files(study))
        print(f'-> {args.out}')
        return study
    models = {kind: osp.join(args.models_dir, args.net, f'{kind}_model.pth') for kind in ('baseline', 'target')}
    for kind, path in models.items():
        require_file(path, '--models_dir')
    require_folder(args.rankings_dir, '--rankings_dir')
    require_output_folder(args.out, '--out')
    check_not_inputs({'--out': args.out}, {'--rankings_dir': args.rankings_dir, '--set_root': args.set_root},
                     input_files={f'{k} model': p for k, p in models.items()})
    start = time.time()
    manifest = labelled_set(args.set_root)
    device = resolve_device(args.device)
    degs = DEFAULT_PAIR
    labels = class_labels(degs)
    setup = prepare_predictor(args.net, None, 2, models['baseline'], models['target'], args.rankings_dir, degs,
                                 args.proportion, device=str(device))
    levels = {level['name']: level for level in manifest['levels']}
    trained_levels = [name for name, level in levels.items() if level['trained']]
    entries, images = {}, {}
    for split in SPLITS:
        entries[split], images[split] = labelled_images(osp.join(args.set_root, split), degs, setup.channels,
                                                           '--set_root')
    key = {'use_key': setup.key, 'set': data_digest(args.set_root), 'classical': CLASSICAL_FEATURES,
           'relative': feature_names('relative', degs)}
    saved = calibration_path(args.rankings_dir, degs, args.proportion)
    trained_calibration = [e for e in entries['calibration'] if e.level in trained_levels]
    # the ranking folder too: the rankings read stay as they are, and the calibration saved beside them is
    # claimed before the work and written under the same lock (no other run's calibration replaced meanwhile)
    with folder_locks(*([] if args.no_saved_calibration else [osp.dirname(saved) or '.'])), \
            RunOutputs(args.out, key, RESULT_FILES, force=args.force, record='prediction.json') as outputs:
        if not args.no_saved_calibration:  # checked before the work, written after it
            claim_calibration(saved, calibration_run_key(setup.key, trained_calibration), args.force)
        values, responses = {}, {}
        for split in SPLITS:
            t = time.time()
            # one pass gives the project's numbers (a, b) and the output energy that the relative change divides by
            responses[split] = setup.features.responses(images[split])
            values[split] = {'filters': {n: (r['a'], r['b']) for n, r in responses[split].items()},
                             'relative': {n: relative_values(r) for n, r in responses[split].items()},
                             'classical': measure_classical(images[split])}
            print(f'{split}: {len(entries[split])} images measured in {time.time() - t:.0f} s', flush=True)
        calibrations = fit_study(values['calibration'], entries['calibration'], trained_levels, degs)
        records = []
        for split in SPLITS:
            for e in entries[split]:
                stem = osp.splitext(osp.basename(e.name))[0]
                record = {'image': e.name, 'split': split, 'photo': stem.rsplit('_', 1)[0], 'true': e.label,
                          'level': e.level, 'trained': bool(levels[e.level]['trained']),
                          'filters': list(values[split]['filters'][e.name]),
                          'relative': list(values[split]['relative'][e.name]),
                          'output_energy': responses[split][e.name]['energy'],
                          'classical': list(values[split]['classical'][e.name]), 'predicted': {}}
                for cal_key, fitted in calibrations.items():
                    record['predicted'][cal_key] = {k: fitted[k].predict([record[k]])[0] for k in PREDICTORS}
                records.append(record)
        recipe = manifest['recipe']
        study = {'format': STUDY_FORMAT, 'net': args.net, 'degradations': list(degs), 'labels': list(labels),
                 'proportion': args.proportion, 'filters': len(setup.features.selected[degs[0]]),
                 'ranking_folder': args.rankings_dir,
                 'ranking_dataset': osp.basename(osp.dirname(osp.normpath(args.rankings_dir))),
                 'models': models, 'set_root': args.set_root, 'crop': recipe['crop'], 'split': recipe['split'],
                 'images': {split: len(entries[split]) for split in SPLITS},
                 'levels': [levels[name] for name in dict.fromkeys(r['level'] for r in records)],
                 'device': f'{device} ({os.cpu_count()} CPU cores, OMP_NUM_THREADS='
                           f'{os.environ.get("OMP_NUM_THREADS", "unset")})',
                 'wall_seconds': round(time.time() - start, 1),
                 'calibrations': {c: {k: fitted.to_json() for k, fitted in v.items()} for c, v in calibrations.items()},
                 'summary': summaries(records, labels, 'test'),
                 'summary_calibration_split': summaries(records, labels, 'calibration'), 'records': records,
                 'run_key': key, 'command': 'python scripts/predict_degradation_study.py ' + ' '.join(
                     sys.argv[1:] if argv is None else argv)}
        outputs.commit(report_files(study))
        if not args.no_saved_calibration:
            fitted = calibrations['trained']['filters']
            run_key = calibration_run_key(setup.key, trained_calibration)
            info = {**fitted.info, 'use_key': setup.key, 'calibration_images': run_key['images'],
                    'calibration_folder': osp.join(args.set_root, 'calibration'),
                    'image_size': image_size(images['calibration'])}
            save_calibration(dataclasses.replace(fitted, info=info), saved, force=args.force)  # claimed above
            print(f'filter-based calibration (trained levels) -> {saved}')
    print(study_markdown(study))
    print(f'-> {args.out} ({", ".join(RESULT_FILES)}); {time.time() - start:.0f} s')
    return study


if __name__ == '__main__':
    main()
