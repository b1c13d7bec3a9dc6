"""Accelerated EM: SQUAREM (Varadhan & Roland 2008), scheme S3, with a
monotonicity safeguard (`run_squarem`; ``accelerate='squarem'``).

EM is a map F of the parameters, theta -> M(E(theta)); each F is one fused
pass and an M-step. A SQUAREM cycle from theta0 takes two EM steps,
theta1 = F(theta0) and theta2 = F(theta1), and with r = theta1 - theta0,
v = theta2 - theta1 - r and the step length alpha = -||r|| / ||v|| (S3,
-step_max <= alpha <= -1; `STEP_MAX0`, `STEP_FACTOR`) jumps to

    theta' = theta0 - 2 alpha r + alpha^2 v

(alpha = -1 gives theta2 itself), then stabilizes with one EM step,
theta3 = F(theta'). The parameters are the weights, means, covariances (in
the structure's storage) and, for a t mixture, the degrees of freedom, each
array extrapolated as it is stored; a jump that leaves their domain (a
weight <= 0, a covariance that is not positive definite, a nu outside its
interval) is pulled back halfway towards alpha = -1, a few times, and else
dropped for theta2.

The safeguard: the pass at theta' gives its log-likelihood L(theta'); the
jump is kept only if L(theta') is at least L(theta1), the last bound seen,
and otherwise the cycle goes on from theta2, the plain EM iterate, so the
lower bounds a run records never decrease (each is L of the parameters of
a pass, as plain EM's). A run stops as plain EM does: when the bound gains
less than ``tol`` from one recorded pass to the next, or after ``max_iter``
passes (``n_iter_`` counts passes, those of rejected jumps included).
"""

import math

import numpy as np

#: Pull-backs of a jump that leaves the parameters' domain, before it is
#: dropped for the plain EM iterate.
MAX_PULLBACKS = 4
#: The step lengths' bound (|alpha| <= step_max), which starts at STEP_MAX0
#: and grows by STEP_FACTOR each time a cycle takes it: the SQUAREM
#: package's step.max0 = 1 and mstep = 4 (Varadhan & Roland), so that the
#: first cycles, far from the optimum, do not leap across basins.
STEP_MAX0 = 1.0
STEP_FACTOR = 4.0


def _fields(params):
    """The arrays SQUAREM extrapolates: weights, means, covariances and (a t
    mixture's) dof."""
    names = ["weights", "means", "covariances"]
    if getattr(params, "dof", None) is not None:
        names.append("dof")
    return names


def step_length(theta0, theta1, theta2):
    """S3's alpha = -||r|| / ||v|| (at most -1), over all fields."""
    rr = vv = 0.0
    for name in _fields(theta0):
        r = getattr(theta1, name) - getattr(theta0, name)
        v = getattr(theta2, name) - getattr(theta1, name) - r
        rr += float(np.vdot(r, r))
        vv += float(np.vdot(v, v))
    if not (vv > 0.0 and math.isfinite(rr) and math.isfinite(vv)):
        return -1.0
    return min(-1.0, -math.sqrt(rr / vv))


def extrapolate(theta0, theta1, theta2, alpha, structure, is_float32, dof_bounds=None):
    """theta0 - 2 alpha r + alpha^2 v as parameters, or None when it leaves
    their domain (the precision factors made by ``structure``)."""
    values = {}
    for name in _fields(theta0):
        a0, a1, a2 = (getattr(t, name) for t in (theta0, theta1, theta2))
        r = a1 - a0
        v = a2 - a1 - r
        values[name] = a0 - 2.0 * alpha * r + alpha * alpha * v
    weights = values["weights"]
    if not (np.all(weights > 0.0) and np.all(np.isfinite(weights))):
        return None
    weights = weights / weights.sum()
    if "dof" in values:
        dof = values["dof"]
        low, high = dof_bounds if dof_bounds is not None else (0.0, np.inf)
        if not np.all((dof >= low) & (dof <= high)):
            return None
    covariances = values["covariances"]
    if structure.storage in ("full", "tied"):  # (k, d, d), (d, d): symmetric
        covariances = 0.5 * (covariances + np.swapaxes(covariances, -1, -2))
    elif not np.all(covariances > 0.0):  # 'diag' (k, d), 'spherical' (k,)
        return None
    if not np.all(np.isfinite(covariances)) or not np.all(np.isfinite(values["means"])):
        return None
    try:
        factors = structure.precisions_cholesky(covariances, is_float32)
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not np.all(np.isfinite(factors)):
        return None
    fields = dict(weights=weights, means=values["means"], covariances=covariances,
                  precisions_cholesky=factors)
    if "dof" in values:
        fields["dof"] = values["dof"]
    return type(theta0).from_arrays(**fields)


def run_squarem(run, step, record, max_iter, structure, is_float32, dof_bounds=None):
    """SQUAREM cycles from ``run.params`` (see the module).

    ``step(theta)`` runs one pass and M-step at theta and returns (L(theta),
    F(theta)); ``record(L, new, passes)`` records a kept pass (the run's
    parameters become ``new``, its bound L) and returns whether the run has
    converged. Returns the number of passes.
    """
    passes = 0
    theta0 = run.params
    step_max = STEP_MAX0
    while passes < max_iter:
        lower0, theta1 = step(theta0)
        passes += 1
        if record(lower0, theta1, passes) or passes >= max_iter:
            break
        lower1, theta2 = step(theta1)
        passes += 1
        if record(lower1, theta2, passes) or passes >= max_iter:
            break
        alpha = max(step_length(theta0, theta1, theta2), -step_max)
        if alpha == -step_max:  # the bound taken: allow longer steps next time
            step_max *= STEP_FACTOR
        jump = None
        for _ in range(MAX_PULLBACKS + 1):
            if alpha >= -1.0:
                break
            jump = extrapolate(theta0, theta1, theta2, alpha, structure, is_float32,
                               dof_bounds)
            if jump is not None:
                break
            alpha = 0.5 * (alpha - 1.0)
        if jump is None:  # no jump beyond theta2 (alpha = -1): plain EM on
            theta0 = theta2
            continue
        lower_jump, theta3 = step(jump)
        passes += 1
        if lower_jump >= lower1:  # kept: the bound did not drop
            if record(lower_jump, theta3, passes):
                break
            theta0 = theta3
        else:  # the safeguard: back to the plain EM iterate
            theta0 = theta2
    return passes


def check_accelerate(spec):
    """ValueError unless ``accelerate='squarem'`` takes this mixture: the
    four scikit-learn covariance types, without a noise component or
    missing values (their M-steps are closed-form and their parameters
    those `extrapolate` knows)."""
    if spec.structure.constrained or spec.noise or spec.missing:
        raise ValueError(
            "accelerate='squarem' takes the covariance types 'full', 'tied', "
            "'diag' and 'spherical', without noise=True or "
            "nan_policy='marginalize'")


__all__ = ["check_accelerate", "extrapolate", "run_squarem", "step_length"]
