"""Attribution of a fine-tuned network's new functions to its filters: FAIG and the baselines.

Public API (imported on first use, so that ``import faig.attribution`` stays cheap):

- :class:`FilterSpace`, :func:`space_for_network` -- filter index <-> (conv / linear weight, out, in)
- :class:`ParameterPath`, :func:`integrate_gradients`, :func:`faig_image`, :func:`discriminative`
- :func:`ig_image`, :func:`absolute_filter_change`, :func:`random_rankings`
- :func:`quadrature` (rules: ``METHODS``), :func:`rank`, :func:`read_index`, :func:`write_rankings`
- :func:`rank_dataset` (:class:`AttributionJob`) -- any registered method over a data set, resumable, over
  torchrun ranks; the methods: :class:`AttributionMethod` and its subclasses (faig.attribution.methods)
"""
from faig.lazy import lazy_exports

_EXPORTS = {
    'FilterSpace': 'filters', 'space_for_network': 'filters', 'ParameterPath': 'path', 'check_compatible': 'path', 'resolve_layout': 'path',
    'integrate_gradients': 'faig', 'faig_image': 'faig', 'discriminative': 'faig', 'PathIntegral': 'faig',
    'ig_image': 'ig', 'absolute_filter_change': 'weights', 'random_rankings': 'weights',
    'quadrature': 'quadrature', 'METHODS': 'quadrature', 'rank': 'ranking', 'read_index': 'ranking',
    'write_rankings': 'ranking', 'rank_dataset': 'pipeline', 'AttributionJob': 'pipeline',
    'AttributionMethod': 'methods', 'register': 'methods', 'get_method': 'methods',
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
