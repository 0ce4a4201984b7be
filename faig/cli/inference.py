"""inference/inference_<net>.py: restore LR test folders with a model and print PSNR per folder."""
import os.path as osp

from faig.cli.args import (Parser, add_network_args, network_option, require_file, require_folder,
                           require_output_file, require_output_folder, resolve_device)
from faig.errors import cli
from faig.paths import default_model, default_test_root
from faig.specs import DEFAULT_PAIR, ResultsLayout, degradation


@cli
def main(net, argv=None):
    parser = Parser(description=f'Restore the degraded test folders with a {net} model and print PSNR per folder. '
                    'Outputs are stamped with the model and inputs they came from, so the comparison reuses '
                    'them only when they match its own model.')
    parser.add_argument('--model_path', default=default_model(net, 'target'))
    parser.add_argument('--dataroot', default=default_test_root(), help='folder holding GTmod12 and the LR folders')
    parser.add_argument('--save_root', default=None,
                        help=f'outputs: <save_root>/<folder>/ (default {ResultsLayout(net, "").target_outputs()}, '
                        'named after --network_g\'s type when given)')
    parser.add_argument('--folders', nargs='+', default=[degradation(d).folder for d in DEFAULT_PAIR],
                        help='LR folders under --dataroot to restore')
    parser.add_argument('--psnr_json', default=None, help='also write {folder: mean PSNR} to this file')
    parser.add_argument('--force', action='store_true', help='replace a --psnr_json made with another model')
    add_network_args(parser, net)
    args = parser.parse_args(argv)
    require_file(args.model_path, '--model_path')
    gt_folder = osp.join(args.dataroot, 'GTmod12')
    require_folder(gt_folder, '--dataroot')
    for folder in args.folders:
        require_folder(osp.join(args.dataroot, folder), '--folders')
    opt = network_option(args, net)
    from faig.outputs import network_label
    from faig.store import check_not_inputs
    save_root = args.save_root or ResultsLayout(network_label(net, opt), '').target_outputs()
    require_output_folder(save_root, '--save_root')
    inputs = {'--dataroot': gt_folder, **{'--folders': osp.join(args.dataroot, f) for f in args.folders}}
    outputs = {'--save_root': save_root, **{f'--save_root ({f})': osp.join(save_root, f) for f in args.folders}}
    if args.psnr_json:
        require_output_file(args.psnr_json, '--psnr_json')
        outputs['--psnr_json'] = args.psnr_json
    check_not_inputs(outputs, inputs, dataroots=[args.dataroot], input_files={'--model_path': args.model_path})

    from faig.attribution.ranking import write_json
    from faig.inference import check_folder, image_channels, mean, restore_folder
    from faig.networks import load_network
    from faig.store import FolderLock
    device = resolve_device(args.device)
    net_ = load_network(opt, args.model_path, args.param_key, device)
    channels = image_channels(net_)  # a 1-channel (Y) network reads gray images (colour ones as their Y)
    gray = ', gray (Y) images' if channels == (1, 1) else ''
    print(f'model: {args.model_path} ({opt["type"]}, x{args.scale}, {device}{gray})')
    for folder in args.folders:  # every input checked before the first output is written
        check_folder(osp.join(args.dataroot, folder), gt_folder, args.scale, channels)
    results = {}
    psnr_key = None
    if args.psnr_json:  # another model's PSNR file is not replaced silently
        from faig.store import claim_results, state_digest
        psnr_key = {'model': state_digest(net_.state_dict()), 'network': opt, 'folders': sorted(args.folders),
                    'scale': args.scale}
        claim_results(osp.dirname(args.psnr_json) or '.', psnr_key, args.force, [osp.basename(args.psnr_json)],
                      meta_name=osp.basename(args.psnr_json))
    with FolderLock(save_root):
        for folder in args.folders:
            psnrs = restore_folder(net_, osp.join(args.dataroot, folder), gt_folder, osp.join(save_root, folder),
                                   args.scale, device)
            results[folder] = mean(psnrs.values())
            print(f'{folder}: PSNR {results[folder]:.4f} dB over {len(psnrs)} images -> {osp.join(save_root, folder)}')
    if args.psnr_json:
        write_json(args.psnr_json, {'model': args.model_path, 'psnr': results, 'device': str(device),
                                    'run_key': psnr_key})
    return results
