"""Shared command line of inference/inference_<net>.py."""
import argparse
import os.path as osp

from faig.errors import cli
from faig.cli_evaluation import target_output_root
from faig.inference import mean, restore_folder
from faig.networks import default_device, load_network, parse_network_option, preset
from faig.paths import default_model, default_test_root


@cli
def main(net_name):
    parser = argparse.ArgumentParser(description=f'Restore the blurry and noisy test folders with a {net_name} model '
                                     'and print PSNR per folder.')
    parser.add_argument('--model_path', default=default_model(net_name, 'target'))
    parser.add_argument('--dataroot', default=default_test_root(), help='folder holding GTmod12 and the LR folders')
    parser.add_argument('--save_root', default=target_output_root(net_name))
    parser.add_argument('--folders', nargs='+', default=['Blur2_LRbicx2', 'LRbicx2_noise0.1'],
                        help='LR folders under --dataroot to restore')
    parser.add_argument('--scale', type=int, default=2)
    parser.add_argument('--param_key', default=None, help='checkpoint key (default: params_ema, else params)')
    parser.add_argument('--psnr_json', default=None, help='also write {folder: mean PSNR} to this file')
    parser.add_argument('--network_g', default=None,
                        help=f'network options (YAML file or inline YAML); default: the {net_name} preset')
    args = parser.parse_args()

    opt = parse_network_option(args.network_g) if args.network_g else preset(net_name, args.scale)
    device = default_device()
    net = load_network(opt, args.model_path, args.param_key, device)
    print(f'model: {args.model_path} ({opt["type"]}, x{args.scale}, {device})')
    gt_folder = osp.join(args.dataroot, 'GTmod12')
    results = {}
    for folder in args.folders:
        psnrs = restore_folder(net, osp.join(args.dataroot, folder), gt_folder, osp.join(args.save_root, folder),
                               args.scale, device)
        results[folder] = mean(psnrs.values())
        print(f'{folder}: PSNR {results[folder]:.4f} dB over {len(psnrs)} images -> {osp.join(args.save_root, folder)}')
    if args.psnr_json:
        from faig.attribution.ranking import write_json
        write_json(args.psnr_json, {'model': args.model_path, 'psnr': results})
    return results
