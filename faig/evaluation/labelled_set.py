"""The labelled set of the degradation-prediction study: LR crops of photos at every level of a degradation pair.

``<root>/<split>/<label>/<level>/<photo>_<k>.png`` with ``<root>/manifest.json`` (recipe, crops, levels, counts);
``<root>/<split>`` is a labelled input folder (faig.evaluation.prediction_inputs.read_input_folder). The levels are
data: each degradation of the pair is one axis of strengths of its spec's ``sigma``, and a level is trained when
every degradation it has is at its spec's default, the strength the target was fine-tuned on.
"""
import os.path as osp
import zlib
from dataclasses import dataclass

import numpy as np

from faig.attribution.ranking import json_bytes
from faig.data.image_io import check_divisible, encode_image, list_images, read_image, to_uint8, write_bytes
from faig.errors import InputError
from faig.evaluation.degradation_predictor import CLEAN, label_of
from faig.specs import DEFAULT_PAIR, degradation
from faig.stamps import content_sha1
from faig.store import build_whole_folder, canonical, read_record

SPLITS = ('calibration', 'test')
LAYOUT = '<split>/<label>/<level>/<photo>_<k>.png'


@dataclass(frozen=True)
class Axis:
    """One degradation's strengths: level values are its spec's ``sigma`` times ``unit`` (8-bit noise: 255);
    ``levels``: those of the study's set."""
    degradation: str
    unit: float = 1.0
    levels: tuple = ()

    @property
    def recipe_key(self):  # the recipe's names since the first manifests: blur_sigmas, noise_levels
        return f'{self.degradation}_sigmas' if self.unit == 1 else f'{self.degradation}_levels'

    def help(self):
        where = 'on the HR image' if degradation(self.degradation).stage == 'hr' else 'on the LR image'
        unit = '' if self.unit == 1 else f' in 8-bit units, /{self.unit:g}'
        return f'{self.degradation} sigmas{unit} {where} (default {" ".join(f"{v:g}" for v in self.levels)})'

    def sigma(self, value):
        return None if value is None else value / self.unit

    def trained(self, value):
        return value is None or self.sigma(value) == degradation(self.degradation).defaults['sigma']

    def manifest_fields(self, value):
        """The level's strength as the manifest records it: the spec's sigma (and the level value in its unit)."""
        fields = {f'{self.degradation}_sigma': self.sigma(value)}
        if self.unit != 1:
            fields[f'{self.degradation}_level_{self.unit:g}'] = value
        return fields


AXES = (Axis(DEFAULT_PAIR[0], levels=(1, 2, 3)),  # blur σ on the HR image
        Axis(DEFAULT_PAIR[1], 255.0, (5, 15, 25.5)))  # noise σ in 8-bit units


@dataclass(frozen=True)
class Level:
    name: str  # folder name: clean, blur2, noise15, blur2_noise25.5
    values: tuple  # per axis: its level value, or None (absent)

    @property
    def label(self):
        return label_of(*(value is not None for value in self.values), tuple(a.degradation for a in AXES))

    @property
    def trained(self):
        """Every degradation it has is at the target's training strength (clean counts: the target saw it too)."""
        return all(axis.trained(value) for axis, value in zip(AXES, self.values))

    def steps(self, kernel_size):
        """[(spec, applier keywords)] of faig.data.degradations.degrade_with, in the pair's order."""
        steps = []
        for axis, value in zip(AXES, self.values):
            if value is not None:
                spec = degradation(axis.degradation)
                extra = {'kernel_size': kernel_size} if spec.param('kernel_size') else {}
                steps.append((spec, {'sigma': axis.sigma(value), **extra}))
        return steps

    def to_json(self):
        fields = {'name': self.name, 'label': self.label, 'trained': self.trained}
        for axis, value in zip(AXES, self.values):
            fields.update(axis.manifest_fields(value))
        return fields


def make_levels(first_levels=AXES[0].levels, second_levels=AXES[1].levels):
    """Clean, each level of the first degradation, each of the second, and every combination."""
    first, second = ([(f'{axis.degradation}{v:g}', float(v)) for v in values]
                     for axis, values in zip(AXES, (first_levels, second_levels)))
    return [Level(CLEAN, (None, None)), *(Level(n, (v, None)) for n, v in first),
            *(Level(n, (None, v)) for n, v in second),
            *(Level(f'{n1}_{n2}', (v1, v2)) for n1, v1 in first for n2, v2 in second)]


def crop_positions(height, width, size, count):
    """``count`` LR crop corners on an evenly spaced grid reaching the image's edges (row-major)."""
    if height < size or width < size:
        return []
    rows = max(1, int(np.floor(np.sqrt(count))))
    cols = int(np.ceil(count / rows))
    ys = np.round(np.linspace(0, height - size, rows)).astype(int) if rows > 1 else [(height - size) // 2]
    xs = np.round(np.linspace(0, width - size, cols)).astype(int) if cols > 1 else [(width - size) // 2]
    return [(int(y), int(x)) for y in ys for x in xs][:count]


def default_split(photos):
    """Calibration and test photos: alternate in name order (the first to calibration)."""
    photos = sorted(photos)
    return {'calibration': photos[0::2], 'test': photos[1::2]}


def photos_in(gt_folder):
    return {osp.splitext(n)[0]: p for n, p in list_images(gt_folder).items()}


def labelled_set_recipe(gt_folder, crop=64, crops_per_photo=6, first_levels=AXES[0].levels,
                        second_levels=AXES[1].levels, kernel_size=21, scale=2, interpolation='bilinear', seed=0,
                        calibration_photos=None):
    """The settings a labelled set is made from (with the contents of its GT photos): its manifest's key."""
    photos = photos_in(gt_folder)
    if calibration_photos is None:
        split = default_split(photos)
    else:
        unknown = sorted(set(calibration_photos) - set(photos))
        if unknown:
            raise InputError(f'--calibration_photos: {", ".join(unknown)} not in {gt_folder} ({", ".join(photos)})')
        split = {'calibration': sorted(calibration_photos), 'test': sorted(set(photos) - set(calibration_photos))}
    if not split['calibration'] or not split['test']:
        raise InputError(f'{gt_folder}: the calibration and the test split each need at least one photo '
                         f'({len(photos)} found)')
    levels = {axis.recipe_key: [float(v) for v in values] for axis, values in zip(AXES, (first_levels, second_levels))}
    return {'gt_folder': gt_folder, 'photos': {s: content_sha1(photos[s]) for s in sorted(photos)}, 'crop': crop,
            'crops_per_photo': crops_per_photo, **levels, 'kernel_size': kernel_size, 'scale': scale,
            'interpolation': interpolation, 'seed': seed, 'split': split}


def noise_rng(seed, photo, level):
    """A noise stream per seed, photo and level (independent of the order the images are made in)."""
    return np.random.default_rng([seed, zlib.crc32(f'{photo}/{level}'.encode())])


def labelled_set_files(recipe):
    """({relative path: PNG bytes}, crop corners per photo, levels) of a labelled set: every photo degraded whole at
    every level (the test sets' pipeline: HR-stage degradations -> ×1/scale -> LR-stage ones -> 8 bit), then cut
    into LR crops."""
    from faig.data.degradations import degrade_with  # loads torch (BasicSR kernels): kept out of --help
    photos = photos_in(recipe['gt_folder'])
    levels = make_levels(*(recipe[axis.recipe_key] for axis in AXES))
    split_of = {photo: split for split, names in recipe['split'].items() for photo in names}
    files, crops = {}, {}
    for photo in sorted(photos):
        hr = read_image(photos[photo])
        check_divisible(photos[photo], hr, recipe['scale'])
        h, w = hr.shape[0] // recipe['scale'], hr.shape[1] // recipe['scale']
        corners = crop_positions(h, w, recipe['crop'], recipe['crops_per_photo'])
        if not corners:
            raise InputError(f'{photos[photo]}: LR size {w}x{h} is smaller than --crop {recipe["crop"]}')
        crops[photo] = corners
        for level in levels:
            lr = to_uint8(degrade_with(hr, recipe['scale'], level.steps(recipe['kernel_size']),
                                       recipe['interpolation'], noise_rng(recipe['seed'], photo, level.name)))
            for k, (y, x) in enumerate(corners):
                path = f'{split_of[photo]}/{level.label}/{level.name}/{photo}_{k}.png'
                files[path] = encode_image(path, lr[y:y + recipe['crop'], x:x + recipe['crop']])
    return files, crops, levels


def read_manifest(root):
    """The manifest of the labelled set at ``root``; None where there is none (or it is unreadable)."""
    return read_record(osp.join(root, 'manifest.json'), 'labelled-set manifest', bad='skip')


def make_labelled_set(root, recipe, overwrite=False, flag='--out_root', overwrite_flag='--overwrite'):
    """Write the labelled set into ``root``, made whole in a temporary folder, then renamed into place.

    A set of the same recipe is kept ('same'); one of another recipe is replaced only with ``overwrite``.
    ``flag`` / ``overwrite_flag``: the caller's flags, for the message (no ``overwrite_flag``: the caller cannot
    replace a set). Returns ('same' | 'made', manifest)."""
    manifest = read_manifest(root)
    if manifest is not None and manifest.get('recipe') == canonical(recipe):
        return 'same', manifest
    if osp.exists(root) and not overwrite:
        what = ('a labelled set of another recipe' if manifest is not None else
                'other files' if osp.isdir(root) else 'a file')
        replace = f'pass {overwrite_flag} to replace it, or ' if overwrite_flag and osp.isdir(root) else ''
        raise InputError(f'{root}: holds {what}, not this labelled set; {replace}choose another {flag}')
    files, crops, levels = labelled_set_files(recipe)
    manifest = {'recipe': recipe, 'crops': crops, 'layout': LAYOUT, 'levels': [level.to_json() for level in levels],
                'images': {split: sum(1 for p in files if p.startswith(split + '/')) for split in SPLITS}}

    def write(folder):
        for path, data in files.items():
            write_bytes(osp.join(folder, path), data)
        write_bytes(osp.join(folder, 'manifest.json'), json_bytes(manifest))
    if osp.isfile(root):
        raise InputError(f'{root}: a file; {flag} is a folder')
    build_whole_folder(root, write)
    return 'made', manifest
