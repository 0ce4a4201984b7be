"""Run the FAIG pipeline on the bundled default, stage by stage (finished stages are reused).

    python scripts/reproduce.py            # default, sized for 2 CPU cores
    python scripts/reproduce.py --force    # redo every stage

Stages: sample data -> LR test sets -> models (bundled, or trained with --train) -> target
inference with PSNR.
"""
import argparse
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
NETS = ('srresnet', 'srcnn_style')


def run(args, title):
    print(f'\n=== {title}\n$ python {" ".join(args)}', flush=True)
    start = time.time()
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True)
    print(f'--- {title}: {time.time() - start:.1f} s', flush=True)


def stage_done(path, force):
    return not force and osp.exists(osp.join(ROOT, path))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--force', action='store_true', help='redo finished stages')
    parser.add_argument('--train', action='store_true',
                        help='train the baseline/target models with options/cpu/*.yml instead of using the bundled ones')
    args = parser.parse_args()

    if not stage_done('datasets/SampleSet/GTmod12', args.force):
        run(['scripts/prepare_sample_data.py'] + (['--overwrite'] if args.force else []), 'sample data')
    if not stage_done('datasets/SampleSet/Blur2_LRbicx2', args.force):
        run(['scripts/generate_lr.py', '--ori_folder', 'datasets/SampleSet/GTmod12'], 'LR test sets')
    for net in NETS:
        if args.train or not osp.isfile(osp.join(ROOT, f'experiments/pretrained/{net}/target_model.pth')):
            run(['scripts/train_cpu_models.py', '--net', net], f'train {net} baseline -> target')
    for net in NETS:
        for kind in ('baseline', 'target'):
            run([f'inference/inference_{net}.py', '--dataroot', 'datasets/SampleSet', '--model_path',
                 f'experiments/pretrained/{net}/{kind}_model.pth', '--save_root',
                 f'results/Interpret/{net}-{kind}model-sr', '--folders', 'Linear_LRbicx2', 'Blur2_LRbicx2',
                 'LRbicx2_noise0.1'], f'{net} {kind} inference')


if __name__ == '__main__':
    main()
