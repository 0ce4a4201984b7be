"""Turning filter rankings into evidence: masking, modulation, gradient maps, output differences.

Public API (imported on first use):

- :func:`substitute_filters` (masking), :func:`modulate_filters`, :func:`top_filters`, :func:`num_selected`
- :func:`gradient_map`, :func:`image_gradient_map`, :func:`output_difference`, :func:`per_image_difference`
- :class:`Comparison`, :class:`Setup`, :func:`mean_results` -- the four-ranking comparison
- :func:`filter_location` -- where a ranking's top filters sit (finding 3)
"""
from faig.lazy import lazy_exports

_EXPORTS = {
    'substitute_filters': 'masking', 'modulate_filters': 'masking', 'top_filters': 'masking',
    'num_selected': 'masking', 'gradient_map': 'gradient_map', 'image_gradient_map': 'gradient_map',
    'output_difference': 'gradient_map', 'per_image_difference': 'gradient_map', 'Comparison': 'comparison',
    'Setup': 'comparison', 'mean_results': 'comparison', 'filter_location': 'location',
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
