"""The section "Default budget vs --full": every verdict of a default-budget run beside the --full reference
records, on the means and per image, the ones that differ named, and the attribution's wall time per image."""
from faig.reporting.findings import method_label, plain_verdict
from faig.reporting.records import DEFAULT_BUDGET, FULL_BUDGET, REFERENCE, of_other_models
from faig.tables import Table

BUDGETS_HEADING = '## Default budget vs --full'


def compare_reports(default, full):
    """[(net, finding id, default verdict, --full verdict)] for the findings of the nets both reports have."""
    rows = []
    for net, entry in default['nets'].items():
        other = full['nets'].get(net)
        if other is None:
            continue
        theirs = {f['id']: f for f in other['findings']}
        rows += [(net, f['id'], f['holds'], theirs[f['id']]['holds']) for f in entry['findings'] if f['id'] in theirs]
    return rows


def short_verdict(ok, per_image):
    return plain_verdict(ok) + (f' ({per_image["holds"]}/{per_image["images"]} images)' if per_image else '')


def agreement_section(default, full, current=None):
    """The section's blocks from the two report JSONs (``full``: the reference records,
    :func:`faig.reporting.records.read_reference`).

    ``current``: {net: {'baseline_sha1', 'target_sha1'}} of the models the report is about: a net whose two
    runs were both made with other models (e.g. before a swap) is left out of the comparison, and one run of
    other models is named, so that old verdicts are never shown as those of the models now."""
    current = current or {}
    both = [net for net in default['nets'] if net in full['nets']]
    stale = {net: [name for name, report in (('default-budget', default), ('--full', full))
                   if of_other_models(report['nets'][net], current.get(net))] for net in both}
    left_out = [net for net in both if len(stale[net]) == 2]
    default = dict(default, nets={n: e for n, e in default['nets'].items() if n not in left_out})
    rows = compare_reports(default, full)
    same = sum(a == b for _, _, a, b in rows)
    made = ', '.join(f'{net} {entry.get("generated", full.get("generated"))}' for net, entry in full['nets'].items())
    blocks = [BUDGETS_HEADING,
              f'Default budget: `{default["setting"]}` (report of {default["generated"]}); --full: `{full["setting"]}` '
              f'(records in `{full.get("folder", REFERENCE)}/`, made {made}). '
              f'The verdicts on the means agree on {same} of {len(rows)} findings.']
    blocks += [f'Not compared for {net}: both runs were made with other models than the ones there now '
               f'(rerun `python scripts/reproduce.py --nets {net}` and '
               f'`python scripts/reproduce.py --full --nets {net}`).'
               for net in left_out]
    for net in both:
        if len(stale[net]) == 1:
            flag = ' --full' if stale[net][0] == '--full' else ''
            blocks.append(f'Note: the {stale[net][0]} run of {net} was made with other models than the ones there now '
                          f'(rerun `python scripts/reproduce.py{flag} --nets {net}`), so the two differ in more than '
                          'the budget.')
    changed = [net for net in both if not stale[net]
               and default['nets'][net].get('target_sha1') != full['nets'][net].get('target_sha1')]
    if changed:
        blocks.append(f'Note: the two runs used different models for {", ".join(changed)} (retrained in between), so '
                      'they differ in more than the budget.')
    images = [{(net, f['id']): f['per_image'] for net, entry in report['nets'].items() for f in entry['findings']}
              for report in (default, full)]
    blocks.append(Table(['net', 'finding', 'default budget', '--full', 'agree'], [
        [net, finding_id, *(short_verdict(ok, counts.get((net, finding_id))) for ok, counts in zip((a, b), images)),
         'yes' if a == b else '**no**'] for net, finding_id, a, b in rows]))
    for net in dict.fromkeys(net for net, *_ in rows):
        blocks += image_verdicts(net, default['nets'][net], full['nets'][net])
        blocks += wall_times(net, default['nets'][net], full['nets'][net])
    return blocks


def image_verdicts(net, default, full):
    """One network's blocks: every verdict of both budgets on the means and on each image (images as columns),
    then which of them differ between the budgets."""
    theirs = {f['id']: f for f in full['findings']}
    pairs = [(f, theirs[f['id']]) for f in default['findings'] if f['id'] in theirs]
    stems = sorted({stem for pair in pairs for f in pair for stem in (f.get('verdicts') or {})})
    rows, differ = [], []
    for mine, other in pairs:
        for budget, f in (('default', mine), ('--full', other)):
            verdicts = f.get('verdicts')
            rows.append([mine['id'], budget, plain_verdict(f['holds']),
                         *('—' if not verdicts or stem not in verdicts else plain_verdict(verdicts[stem])
                           for stem in stems)])
        if mine['holds'] != other['holds']:
            differ.append(f'{mine["id"]} on the means (default: {plain_verdict(mine["holds"])}, '
                          f'--full: {plain_verdict(other["holds"])})')
        a, b = mine.get('verdicts') or {}, other.get('verdicts') or {}
        differ += [f'{mine["id"]} on {stem} (default: {plain_verdict(a[stem])}, --full: {plain_verdict(b[stem])})'
                   for stem in stems if stem in a and stem in b and a[stem] != b[stem]]
    blocks = [f'**{net}: every verdict at both budgets, on the means and per image** (— : not recorded)',
              Table(['finding', 'budget', 'means', *stems], rows)]
    if not differ:
        return blocks + [f'No verdict of {net} differs between the budgets.']
    crop = DEFAULT_BUDGET['crop']
    return blocks + [f'Verdicts of {net} that differ between the budgets: {"; ".join(differ)}. The default budget '
                     f'attributes on {crop}×{crop} centre crops with {DEFAULT_BUDGET["steps"]} steps, --full on whole '
                     f'images with {FULL_BUDGET["steps"]}: other pixels enter the rankings and the output differences, '
                     'and a ratio or an order near its threshold may cross it.']


def seconds_text(value):
    return '—' if value is None else f'{value:.1f}'


def wall_times(net, default, full):
    """One network's blocks: the attribution's wall time per image (FAIG and IG) at both budgets."""
    runs = [('default', default.get('wall_seconds') or {}), ('--full', full.get('wall_seconds') or {})]
    columns = [(budget, method, times.get(method) or {}) for budget, times in runs for method in ('faig', 'ig')]
    stems = sorted({stem for *_, per in columns for stem in per})
    if not stems:
        return [f'Wall time of {net}: not recorded (records of an earlier version).']
    rows = [[stem, *(seconds_text(per.get(stem)) for *_, per in columns)] for stem in stems]
    rows.append(['all images', *(seconds_text(sum(per.values())) if per else '—' for *_, per in columns)])
    devices = '; '.join(f'{budget}: {times["device"]}' for budget, times in runs if times.get('device'))
    blocks = [f'**{net}: attribution wall time per image (s)**' + (f' ({devices})' if devices else ''),
              Table(['image', *(f'{method_label(method)}, {budget}' for budget, method, _ in columns)], rows)]
    stages = full.get('stage_seconds')
    if stages:
        blocks.append(f'Stage times of the --full run that wrote the record of {net} (a resumed stage: its last '
                      'sitting): ' + ', '.join(f'{name[len(net) + 1:]} {seconds:.0f} s'
                                               for name, seconds in stages.items()) + '.')
    return blocks
