"""Quadrature rules on [0, 1] for path integrals: nodes ``alphas`` and ``weights``.

``riemann_left`` (default) is the original's rule: alpha_k = k/N, k = 0..N-1, weight 1/N.
Every rule uses N gradient evaluations, so rules compare at equal cost.
"""
import numpy as np

METHODS = ('riemann_left', 'riemann_right', 'riemann_middle', 'trapezoid', 'gauss_legendre', 'riemann_closed_sum')


def quadrature(method, n_steps):
    """(alphas, weights) as float64 numpy arrays.

    riemann_closed_sum: alpha_k = k/N for k = 0..N (N+1 nodes) with weight 1 -- the plain
    sum of the original SRCNN-style IG script; not a normalised rule.
    """
    if n_steps < 1:
        raise ValueError(f'n_steps must be >= 1, got {n_steps}')
    n = n_steps
    if method == 'riemann_left':
        return np.arange(n) / n, np.full(n, 1.0 / n)
    if method == 'riemann_right':
        return np.arange(1, n + 1) / n, np.full(n, 1.0 / n)
    if method == 'riemann_middle':
        return (np.arange(n) + 0.5) / n, np.full(n, 1.0 / n)
    if method == 'trapezoid':
        if n < 2:
            raise ValueError('trapezoid needs n_steps >= 2')
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0, 1, n), weights
    if method == 'gauss_legendre':
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return (nodes + 1) / 2, weights / 2
    if method == 'riemann_closed_sum':
        return np.arange(n + 1) / n, np.ones(n + 1)
    raise ValueError(f'unknown quadrature method {method!r}; choose from {", ".join(METHODS)}')
