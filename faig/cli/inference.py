"""inference/inference_<net>.py: restore LR test folders with a model and print PSNR per folder."""
import os.path as osp

from faig.cli.args import (Parser, add_network_args, network_option, require_file, require_folder,
                           require_output_folder, resolve_device)
from faig.errors import cli
from faig.paths import dataset_name, default_model, default_test_root
from faig.specs import ResultsLayout, degradation


@cli
def main(net, argv=None):
    parser = Parser(description=f'Restore the degraded test folders with a {net} model and print PSNR per folder. '
                    'Outputs are stamped with the model and inputs they came from, so the comparison reuses '
                    'them only when they match its own model.')
    parser.add_argument('--model_path', default=default_model(net, 'target'))
    parser.add_argument('--dataroot', default=default_test_root(), help='folder holding GTmod12 and the LR folders')
    parser.add_argument('--save_root', default=ResultsLayout(net, dataset_name(default_test_root())).target_outputs())
    parser.add_argument('--folders', nargs='+', default=[degradation('blur').folder, degradation('noise').folder],
                        help='LR folders under --dataroot to restore')
    parser.add_argument('--psnr_json', default=None, help='also write {folder: mean PSNR} to this file')
    add_network_args(parser, net)
    args = parser.parse_args(argv)
    require_file(args.model_path, '--model_path')
    gt_folder = osp.join(args.dataroot, 'GTmod12')
    require_folder(gt_folder, '--dataroot')
    for folder in args.folders:
        require_folder(osp.join(args.dataroot, folder), '--folders')
    require_output_folder(args.save_root, '--save_root')
    if args.psnr_json:
        require_output_folder(osp.dirname(args.psnr_json) or '.', '--psnr_json')

    from faig.attribution.ranking import write_json
    from faig.inference import check_folder, mean, restore_folder
    from faig.networks import load_network
    opt = network_option(args, net)
    device = resolve_device(args.device)
    net_ = load_network(opt, args.model_path, args.param_key, device)
    print(f'model: {args.model_path} ({opt["type"]}, x{args.scale}, {device})')
    for folder in args.folders:  # every input checked before the first output is written
        check_folder(osp.join(args.dataroot, folder), gt_folder, args.scale)
    results = {}
    for folder in args.folders:
        psnrs = restore_folder(net_, osp.join(args.dataroot, folder), gt_folder, osp.join(args.save_root, folder),
                               args.scale, device)
        results[folder] = mean(psnrs.values())
        print(f'{folder}: PSNR {results[folder]:.4f} dB over {len(psnrs)} images -> {osp.join(args.save_root, folder)}')
    if args.psnr_json:
        write_json(args.psnr_json, {'model': args.model_path, 'psnr': results, 'device': str(device)})
    return results
