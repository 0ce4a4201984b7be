"""Seconds per training iteration (forward, L1 loss, backward, Adam step) under the speed options
a CPU offers: fp32, channels-last memory, bf16 autocast (AMX / AVX512-BF16 where present), and
the number of threads. Only the speed is measured here; whether an option keeps the PSNR is a
training comparison (experiments/pretrained/README.md, "Training speed options").

    python benchmarks/bench_training_step.py --net srcnn_style srresnet --threads 2 1
"""
import itertools

import torch
import torch.nn.functional as F

from common import best_of, bench_parser, command_line, markdown_table, write_section
from faig.networks import build_network, preset


def make_step(net, batch, lr_size, channels_last, bf16):
    torch.manual_seed(0)
    lq = torch.rand(batch, 3, lr_size, lr_size)
    gt = torch.rand(batch, 3, 2 * lr_size, 2 * lr_size)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        lq = lq.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.9, 0.99))

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            out = net(lq)
        loss = F.l1_loss(out.float(), gt)
        loss.backward()
        optimizer.step()
    return step


def main():
    parser = bench_parser(__doc__)
    parser.add_argument('--threads', type=int, nargs='+', default=[2, 1])
    parser.add_argument('--shapes', nargs='+', default=['16x32', '4x64'], help='batch x LR patch size')
    parser.add_argument('--iters', type=int, default=5, help='timed iterations per setting (best of 3 runs)')
    args = parser.parse_args()
    rows = []
    for net_name, shape, threads in itertools.product(args.net, args.shapes, args.threads):
        batch, lr_size = map(int, shape.split('x'))
        torch.set_num_threads(threads)
        base = None
        for channels_last, bf16 in ((False, False), (True, False), (False, True), (True, True)):
            net = build_network(preset(net_name, 2)).train()
            step = make_step(net, batch, lr_size, channels_last, bf16)
            step()  # warm-up (kernel selection)

            def run():
                for _ in range(args.iters):
                    step()
            _, seconds = best_of(3, run)
            per_it = seconds / args.iters
            base = base or per_it
            mode = '+'.join(m for m, on in (('channels-last', channels_last), ('bf16', bf16)) if on) or 'fp32'
            rows.append([net_name, f'{batch} × {lr_size}²', threads, mode, f'{per_it:.3f}', f'{base / per_it:.2f}×'])
            print(' | '.join(map(str, rows[-1])), flush=True)
    body = ('Seconds per training iteration (forward, L1, backward, Adam), best of 3 runs of '
            f'{args.iters} iterations; speed-up against fp32 at the same threads and shape.\n\n'
            + markdown_table(['network', 'batch × LR patch', 'threads', 'mode', 's/it', 'vs fp32'], rows))
    write_section(f'7. Training step: precision, memory layout, threads ({", ".join(args.net)})', command_line(), body)


if __name__ == '__main__':
    main()
