"""One network's study: PSNR, the comparison tables, figures, modulation sheets and the findings checked on
them, for the degradation pair its FAIG rankings record (the paper's, or e.g. JPEG vs noise)."""
import os.path as osp

from faig.attribution.ranking import read_index
from faig.evaluation.masking import num_selected
from faig.reporting.findings import (describe_robustness, image_rankings, location_stats, net_findings, paper_scope,
                                     verdict)
from faig.reporting.records import load_comparison, read_per_image_scores, recorded_pair, report_space
from faig.specs import CLEAN_FOLDER, DEGRADATIONS, ResultsLayout, degradation
from faig.store import read_record
from faig.tables import Table, render


def folder_title(folder):
    """'blurry', 'JPEG-compressed', ... for a spec's default LR folder (specs registered so far), else the name."""
    titles = {CLEAN_FOLDER: 'clean (bilinear LR)', **{spec.folder: spec.adjective for spec in DEGRADATIONS.values()}}
    return titles.get(folder, folder)


def psnr_table(psnr):
    """The table of {'baseline'|'target': {folder: PSNR}}, one row per folder of the target."""
    rows = []
    for folder in psnr['target']:
        b, t = psnr['baseline'][folder], psnr['target'][folder]
        rows.append([folder_title(folder), f'{b:.2f}', f'{t:.2f}', f'{t - b:+.2f}'])
    return Table(['input', 'baseline PSNR (dB)', 'target PSNR (dB)', 'gain'], rows)


def study_blocks(root, net, psnr, metrics, search, target_path, figures, modulation_folder, link,
                 require_modulation=True):
    """The blocks of one network's study, its findings and its degradation pair.

    metrics: the comparison's folder (comparison.csv/.md); search: the FAIG rankings' folder (the pair comes
    from its meta.json); figures: [(alt text, link)] to show; modulation_folder(deg, kernels): the folder (relative
    to ``root``) of a modulation's differences.json and contact sheet, shown through ``link``; without one (or
    without ``modulation_folder``) and not ``require_modulation``, finding 4 is left out."""
    blocks = [psnr_table(psnr)] if psnr else []
    means, per_image = load_comparison(osp.join(metrics, ResultsLayout.COMPARISON_CSV))
    proportions = sorted({k[1] for k in means})
    with open(osp.join(metrics, ResultsLayout.COMPARISON_MD)) as f:
        blocks.append(f.read())
    blocks += [f'![{alt}]({figure})' for alt, figure in figures]
    space = report_space(search, net, target_path)
    pair = recorded_pair(search)
    rankings = {d: read_index(osp.join(search, f'{d}_index.txt'), space.num_filters) for d in pair}
    scores = read_per_image_scores(osp.join(search, ResultsLayout.PER_IMAGE_SCORES), space.num_filters)
    image_location = {stem: location_stats(space, r, pair) for stem, r in image_rankings(scores, pair).items()}
    modulation = {} if modulation_folder else None
    for deg in (pair if modulation_folder else ()):
        folder = modulation_folder(deg, num_selected(space.num_filters, 1))
        path = osp.join(root, folder, ResultsLayout.MODULATION_RECORD)
        if not require_modulation and not osp.isfile(path):
            modulation = None
            break
        modulation[deg] = read_record(path, 'modulation record')
        blocks.append(f'![modulation {deg}]({link(osp.join(folder, ResultsLayout.CONTACT_SHEET))})')
    findings = net_findings(means, per_image, proportions, location_stats(space, rankings, pair), image_location,
                            modulation, pair)
    return blocks, findings, pair


def pair_section(root, net, metrics, search, target_path, psnr=None, figures=(), modulation_folder=None,
                 link=None, heading=None):
    """Markdown lines of one study of any degradation pair (e.g. JPEG vs noise), beside reproduce.py's report.

    Same tables and checks as the report's network sections, in the words of the pair's specs; the pair is
    the one the FAIG rankings in ``search`` record. ``psnr``: {'baseline'|'target': {folder: PSNR}} or None;
    finding 4 only with a modulation (see :func:`study_blocks`). Returns (lines, findings, pair)."""
    section, findings, pair = study_blocks(root, net, psnr, metrics, search, target_path, list(figures),
                                           modulation_folder, link or (lambda path: path), require_modulation=False)
    a, b = (degradation(d) for d in pair)
    for f in findings:
        f['title'] += paper_scope(net, f['id'], pair)
    blocks = [heading or f'## {net}: {a.function} vs {b.function} filters',
              f'Degradations: {a.name} ({a.input_title}) vs {b.name} ({b.input_title}), as the rankings record them.',
              *section, '### Findings',
              '\n'.join(f'- {f["title"]}: {verdict(f["holds"])}. {f["text"]} {describe_robustness(f["per_image"])}'
                        for f in findings)]
    return render(blocks).split('\n'), findings, pair
