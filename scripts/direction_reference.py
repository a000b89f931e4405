#!/usr/bin/env python3
"""Reference robust-optimal directions w* for the direction-accuracy tests.

How to regenerate (from the repository root):

    pip install mpmath
    python3 scripts/direction_reference.py

This writes `tests/data/direction_reference.csv`, read by
`tests/suite/direction_reference.rs`. Each row is one problem

    r* = min_{z in eps K} ||mu - z||_{Sigma^-1},   w* = Sigma^-1 (mu - z*)

of the symmetric model (means +-mu, prior 1/2), for the threats

* `lp` (param p in {1.5, 3, 4.33}): K = unit l_p ball, sigma_K = ||.||_q;
* `linf`: unit l-infinity ball, sigma_K = ||.||_1;
* `l1`: unit l1 ball, sigma_K = ||.||_inf;
* `union` (param = relative budget c): conv(eps B_2 U c eps B_inf).

Sources: `random` rows are dense covariances with log-spaced eigenvalues
(condition number `kappa` <= 1e4, the draw of `robust_reference.py`) and
means with entries of magnitude in [0.5, 1.5], scaled to
||mu||_{Sigma^-1} = 3 (up to rounding); `digits` rows are the
Ledoit-Wolf model of digits 4 (class +1) and 9 of `data/digits/digits.csv`,
fitted here in exact rational arithmetic (the pooled within-class
covariance S = (1/n) sum x~ x~^T, shrunk towards (tr S / d) I with the
intensity min(b^2/d^2, 1), b^2 = (sum ||x~||^4 / n - ||S||_F^2) / (n d),
d^2 = ||S - mI||_F^2 / d) and rounded once to doubles; mu is half the
difference of the class means.

Columns: `case,source,kappa,threat,param,dim,eps,r_exact,clean_exact,w,sigma,mu`.
`r_exact` is r* and `clean_exact` = w*^T mu / ||w*||_Sigma (the clean
error of w* with bias 0 is Phi(-clean_exact), its robust error Phi(-r*)),
both to 45 digits; `w` is w*/||w*||_2 rounded to doubles; `sigma`
(row-major) and `mu` are the float64 inputs, printed with `repr`.

Method. In 50-digit arithmetic, from the float64 inputs: the active
structure of the optimum is found by a primal-dual active-set iteration
(l-infinity: the signs of the coordinates at +-eps; l1: the tied maxima of
w with their signs, started from the support of a float64 accelerated
projected-gradient solve of the dual; union: as in `robust_reference.py`, the split of the
budget between the two parts), or Newton's method on the smooth optimality
conditions (l_p: for p >= 2 in the shift z, mu - z = nu Sigma sign(z)|z|^(p-1),
||z||_p = eps; for p < 2 in w, Sigma w - mu + eps grad ||w||_q = 0). Every
row is then *certified*: with f(w) = 1/2 w^T Sigma w - mu^T w + eps sigma_K(w)
(the primal, 1-strongly convex in the Sigma-norm) and a feasible z (checked,
scaled into the body if needed), g(z) = -1/2 ||mu - z||^2_{Sigma^-1} <= f*,
so ||w - w*||_Sigma^2 <= 2 (f(w) - g(z)). A row is written only when that
bound is below 1e-40 r*^2, so the direction is exact to far more digits
than the doubles written, and no step of the method needs to be trusted.

Deterministic (fixed seed).
"""

import math
import os
import sys

import mpmath as mp

sys.path.insert(0, os.path.dirname(__file__))
import robust_reference as rr  # noqa: E402  (shared draws and l-inf/union solvers)

mp.mp.dps = 50
SEED = 20261204
CERTIFY = mp.mpf("1e-40")
ROOT = os.path.join(os.path.dirname(__file__), "..")


def mat_vec(sigma, v):
    return sigma * v


def phi(v, e):
    """sign(v) |v|^e entrywise."""
    return mp.matrix([mp.sign(x) * abs(x) ** e for x in v])


def lp_norm(v, p):
    return mp.fsum(abs(x) ** p for x in v) ** (1 / mp.mpf(p))


def support(threat, param, w, eps):
    if threat == "lp":
        q = param / (param - 1)
        return eps * lp_norm(w, q)
    if threat == "linf":
        return eps * rr.norm1(w)
    if threat == "l1":
        return eps * rr.norminf(w)
    return max(eps * rr.norm2(w), eps * param * rr.norm1(w))


def feasible(threat, param, z, eps):
    """z scaled into eps K (its gauge made <= 1)."""
    if threat == "lp":
        gauge = lp_norm(z, param) / eps
    elif threat == "linf":
        gauge = rr.norminf(z) / eps
    elif threat == "l1":
        gauge = rr.norm1(z) / eps
    else:
        raise ValueError("unions keep their split")
    return z / gauge if gauge > 1 else z


def certify(sigma, mu, threat, param, eps, w, z):
    """The Sigma-norm distance bound of w to w* (module docs), and r*."""
    f = rr.quad(sigma, w) / 2 - rr.dot(mu, w) + support(threat, param, w, eps)
    dual = -rr.quad_inv(sigma, mu - z) / 2
    bound = 2 * (f - dual)
    return bound, mp.sqrt(rr.quad_inv(sigma, mu - z))


# ---------------------------------------------------------------- l_p


def newton(residual, jacobian, x, steps=60):
    """Damped Newton on residual(x) = 0 (step halved until ||F|| decreases)."""
    r = residual(x)
    value = rr.norm2(r)
    for _ in range(steps):
        if value < mp.mpf(10) ** (-mp.mp.dps + 5):
            break
        step = mp.lu_solve(jacobian(x), -r)
        factor = mp.mpf(1)
        for _ in range(60):
            trial = x + step * factor
            rt = residual(trial)
            vt = rr.norm2(rt)
            if vt < value:
                break
            factor /= 2
        else:
            break
        x, r, value = trial, rt, vt
    return x


def lp_solution(sigma, mu, p, eps):
    d = len(mu)
    p = mp.mpf(p)
    q = p / (p - 1)
    if p >= 2:
        # Unknowns (z, nu): mu - z - nu Sigma phi(z) = 0, sum |z|^p = eps^p.
        # Continuation in the budget from eps/8, where z* is close to
        # eps grad ||w_Bayes||_q.
        bayes = mp.lu_solve(sigma, mu)
        g = phi(bayes, q - 1)
        x = None
        for k in range(1, 9):
            budget = eps * k / 8
            if x is None:
                z0 = g * (budget / lp_norm(g, p))
                w0 = mp.lu_solve(sigma, mu - z0)
                nu0 = rr.dot(w0, phi(z0, p - 1)) / rr.dot(phi(z0, p - 1), phi(z0, p - 1))
                x = mp.matrix(d + 1, 1)
                for i in range(d):
                    x[i] = z0[i]
                x[d] = nu0
            else:
                for i in range(d):
                    x[i] *= mp.mpf(k) / (k - 1)
            eps_k = budget

            def residual_k(x, eps_k=eps_k):
                z = mp.matrix([x[i] for i in range(d)])
                top = mu - z - x[d] * (sigma * phi(z, p - 1))
                out = mp.matrix(d + 1, 1)
                for i in range(d):
                    out[i] = top[i]
                out[d] = mp.fsum(abs(v) ** p for v in z) / eps_k ** p - 1
                return out

            def jacobian_k(x, eps_k=eps_k):
                z = mp.matrix([x[i] for i in range(d)])
                nu = x[d]
                jac = mp.matrix(d + 1, d + 1)
                deriv = [(p - 1) * abs(v) ** (p - 2) for v in z]
                sp = sigma * phi(z, p - 1)
                for i in range(d):
                    for j in range(d):
                        jac[i, j] = -nu * sigma[i, j] * deriv[j] - (1 if i == j else 0)
                    jac[i, d] = -sp[i]
                    jac[d, i] = p * mp.sign(z[i]) * abs(z[i]) ** (p - 1) / eps_k ** p
                return jac

            x = newton(residual_k, jacobian_k, x)
        z = feasible("lp", p, mp.matrix([x[i] for i in range(d)]), eps)
        w = mp.lu_solve(sigma, mu - z)
        return w, z
    # p < 2: q > 2, Sigma w - mu + eps grad ||w||_q = 0 (smooth in w).

    def grad(w):
        n = lp_norm(w, q)
        return phi(w, q - 1) / n ** (q - 1), n

    def residual(w):
        g, _ = grad(w)
        return sigma * w - mu + eps * g

    def jacobian(w):
        g, n = grad(w)
        jac = mp.matrix(d, d)
        for i in range(d):
            for j in range(d):
                h = -(q - 1) * g[i] * g[j] / n
                if i == j:
                    h += (q - 1) * abs(w[i]) ** (q - 2) / n ** (q - 1)
                jac[i, j] = sigma[i, j] + eps * h
        return jac

    w = newton(residual, jacobian, mp.lu_solve(sigma, mu) * mp.mpf("0.5"))
    g, _ = grad(w)
    z = feasible("lp", p, eps * g, eps)
    return w, z


# ---------------------------------------------------------------- l-infinity


def linf_solution(sigma, mu, eps):
    d = len(mu)
    signs = [(1 if mu[i] > 0 else -1) if abs(mu[i]) > eps else 0 for i in range(d)]
    for _ in range(400):
        z, y = rr.linf_face(sigma, mu, eps, signs)
        new = list(signs)
        for i in range(d):
            if signs[i] == 0 and abs(z[i]) > eps:
                new[i] = 1 if z[i] > 0 else -1
            elif signs[i] != 0 and signs[i] * y[i] < 0:
                new[i] = 0
        if new == signs:
            break
        signs = new
    else:
        raise RuntimeError("l-infinity active set did not settle")
    z = mp.matrix([max(-eps, min(eps, z[i])) for i in range(d)])
    return y, z


# ---------------------------------------------------------------- l1


def l1_face(sigma, mu, eps, tied, signs):
    """w with w_B = t s_B, z_F = 0, s_B^T z_B = eps (z = mu - Sigma w)."""
    d = len(mu)
    free = [i for i in range(d) if i not in tied]
    m = len(free) + 1
    jac = mp.matrix(m, m)
    rhs = mp.matrix(m, 1)
    # Columns: w_F, then t; rows: (Sigma w)_F = mu_F, s_B^T (mu - Sigma w)_B = eps.
    col = [[sigma[i, j] for i in range(d)] for j in free]
    tcol = [mp.fsum(sigma[i, b] * signs[b] for b in tied) for i in range(d)]
    for a, i in enumerate(free):
        for c, _ in enumerate(free):
            jac[a, c] = col[c][i]
        jac[a, m - 1] = tcol[i]
        rhs[a] = mu[i]
    for c, _ in enumerate(free):
        jac[m - 1, c] = mp.fsum(signs[b] * col[c][b] for b in tied)
    jac[m - 1, m - 1] = mp.fsum(signs[b] * tcol[b] for b in tied)
    rhs[m - 1] = mp.fsum(signs[b] * mu[b] for b in tied) - eps
    x = mp.lu_solve(jac, rhs)
    w = mp.matrix(d, 1)
    for a, i in enumerate(free):
        w[i] = x[a]
    for b in tied:
        w[b] = x[m - 1] * signs[b]
    return w, mu - sigma * w


def project_l1(y, radius):
    """Euclidean projection onto the l1 ball (sort-based, float64)."""
    import numpy as np

    a = np.abs(y)
    if a.sum() <= radius:
        return y.copy()
    u = np.sort(a)[::-1]
    cumulative = np.cumsum(u) - radius
    k = np.nonzero(u - cumulative / np.arange(1, len(u) + 1) > 0)[0][-1]
    tau = cumulative[k] / (k + 1)
    return np.sign(y) * np.maximum(a - tau, 0.0)


def l1_structure(sigma_f, mu_f, eps):
    """Tied set and signs of the l1 optimum, read off a float64 solve of the
    dual by accelerated projected gradient (with restarts)."""
    import numpy as np

    sigma = np.array(sigma_f)
    mu = np.array(mu_f)
    precision = np.linalg.inv(sigma)
    step = 1.0 / np.linalg.eigvalsh(precision).max()
    z = project_l1(np.zeros_like(mu), eps)
    y, t, value = z.copy(), 1.0, np.inf
    for _ in range(200000):
        z_new = project_l1(y + step * precision @ (mu - y), eps)
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        v = 0.5 * (mu - z_new) @ precision @ (mu - z_new)
        if v > value:
            y, t = z.copy(), 1.0  # restart
            continue
        y = z_new + (t - 1) / t_new * (z_new - z)
        if np.abs(z_new - z).max() <= 1e-15 * eps:
            z = z_new
            break
        z, t, value = z_new, t_new, v
    top = np.abs(z).max()
    tied = [i for i in range(len(mu)) if abs(z[i]) > 1e-8 * top]
    return tied, {i: (1 if z[i] > 0 else -1) for i in tied}


def l1_solution(sigma, mu, eps, sigma_f, mu_f):
    d = len(mu)
    tied, signs = l1_structure(sigma_f, mu_f, float(eps))
    for _ in range(400):
        w, z = l1_face(sigma, mu, eps, tied, signs)
        t = abs(w[tied[0]])
        new = [b for b in tied if signs[b] * z[b] >= 0]
        for i in range(d):
            if i not in tied and abs(w[i]) > t:
                new.append(i)
                signs[i] = 1 if w[i] > 0 else -1
        if sorted(new) == sorted(tied):
            break
        tied = sorted(new) if new else [max(range(d), key=lambda i: abs(w[i]))]
    else:
        raise RuntimeError("l1 active set did not settle")
    zf = mp.matrix(d, 1)
    for b in tied:
        zf[b] = z[b]
    return w, feasible("l1", None, zf, eps)


# ---------------------------------------------------------------- union


def union_solution(sigma, mu, eps, relative):
    c1, c2 = eps, eps * relative

    def tie(t):
        w, _, _ = rr.sum_body_solution(sigma, mu, t * c1, (1 - t) * c2)
        return c2 * rr.norm1(w) - c1 * rr.norm2(w)

    small = mp.mpf("1e-6")
    lo, hi = small, 1 - small
    try:
        if not (tie(lo) < 0 < tie(hi)):
            return None
    except AssertionError:
        return None
    t = rr.secant_root(tie, lo, hi)
    w, z1, z2 = rr.sum_body_solution(sigma, mu, t * c1, (1 - t) * c2)
    gauge = rr.norm2(z1) / c1 + rr.norminf(z2) / c2
    z = z1 + z2
    if gauge > 1:
        z = z / gauge
    return w, z


# ---------------------------------------------------------------- models


def digits_model():
    """Ledoit-Wolf model of digits 4 (+1) and 9, exact rational arithmetic."""
    from fractions import Fraction as F

    rows = {4: [], 9: []}
    with open(os.path.join(ROOT, "data", "digits", "digits.csv")) as f:
        for line in f:
            values = [int(v) for v in line.strip().split(",")]
            label = values[-1]
            if label in rows:
                rows[label].append(values[:-1])
    d = len(rows[4][0])
    means = {c: [F(sum(r[j] for r in rows[c]), len(rows[c])) for j in range(d)] for c in rows}
    n = len(rows[4]) + len(rows[9])
    s = [[F(0)] * d for _ in range(d)]
    fourth = F(0)
    for c in rows:
        for r in rows[c]:
            x = [r[j] - means[c][j] for j in range(d)]
            norm2 = sum(v * v for v in x)
            fourth += norm2 * norm2
            for i in range(d):
                if x[i] == 0:
                    continue
                for j in range(i, d):
                    s[i][j] += x[i] * x[j]
    for i in range(d):
        for j in range(i, d):
            s[i][j] /= n
            s[j][i] = s[i][j]
    m = sum(s[i][i] for i in range(d)) / d
    frob = sum(s[i][j] ** 2 for i in range(d) for j in range(d))
    dist = sum((s[i][j] - (m if i == j else 0)) ** 2 for i in range(d) for j in range(d)) / d
    b2 = max((fourth / n - frob) / (n * d), F(0))
    delta = min(b2 / dist, F(1)) if dist > 0 else F(1)
    sigma = [[float((1 - delta) * s[i][j] + (delta * m if i == j else 0)) for j in range(d)] for i in range(d)]
    mu = [float((means[4][j] - means[9][j]) / 2) for j in range(d)]
    return sigma, mu


def random_model(d, kappa, rng):
    sigma = rr.dense_covariance(d, kappa, rng)
    mu = [rng.choice([-1, 1]) * (0.5 + rng.random()) for _ in range(d)]
    # Scaled to ||mu||_{Sigma^-1} near 3, so the errors Phi(-x) stay in range.
    scale = 3 / float(mp.sqrt(rr.quad_inv(rr.to_mp_matrix(sigma), rr.to_mp_vector(mu))))
    return sigma, [v * scale for v in mu]


def solve(sigma, mu, threat, param, eps, sigma_f, mu_f):
    if threat == "lp":
        return lp_solution(sigma, mu, param, eps)
    if threat == "linf":
        return linf_solution(sigma, mu, eps)
    if threat == "l1":
        return l1_solution(sigma, mu, eps, sigma_f, mu_f)
    return union_solution(sigma, mu, eps, param)


def covering(threat, param, mu):
    if threat == "lp":
        return float(lp_norm(mu, param))
    if threat == "linf":
        return float(rr.norminf(mu))
    if threat == "l1":
        return float(rr.norm1(mu))
    return float(rr.norm2(mu))


def main():
    import random

    rng = random.Random(SEED)
    models = []
    for d, kappa in ((4, 1e2), (8, 1e4), (16, 1e3), (32, 1e4), (64, 1e4)):
        sigma_f, mu_f = random_model(d, kappa, rng)
        models.append(("random", kappa, sigma_f, mu_f))
    sigma_f, mu_f = digits_model()
    models.append(("digits", 0.0, sigma_f, mu_f))
    threats = [("lp", 1.5), ("lp", 3.0), ("lp", 4.33), ("linf", 0.0), ("l1", 0.0), ("union", 0.5)]
    rows = []
    for source, kappa, sigma_f, mu_f in models:
        sigma = rr.to_mp_matrix(sigma_f)
        mu = rr.to_mp_vector(mu_f)
        for threat, param in threats:
            fractions = (0.2, 0.5) if threat != "union" else (0.3, 0.6)
            for fraction in fractions:
                eps = fraction * covering(threat, param, mu)
                if source == "digits" and threat == "lp" and param == 3.0 and fraction == 0.2:
                    eps = 4.0  # the budget of the issue report
                try:
                    solution = solve(sigma, mu, threat, mp.mpf(param), mp.mpf(eps), sigma_f, mu_f)
                except RuntimeError as e:  # an active-set iteration cycled
                    solution = None
                    print(f"skipped {source} {threat} {param} {fraction}: {e}")
                if solution is None:
                    print(f"skipped {source} {threat} {param} {fraction}: not solved or one part only")
                    continue
                w, z = solution
                bound, r = certify(sigma, mu, threat, mp.mpf(param), mp.mpf(eps), w, z)
                assert abs(bound) <= CERTIFY * r * r, (source, threat, param, fraction, bound, r)
                clean = rr.dot(w, mu) / mp.sqrt(rr.quad(sigma, w))
                rows.append((source, kappa, threat, param, len(mu_f), eps, r, clean, w / rr.norm2(w), sigma_f, mu_f))
                print(f"{source} d={len(mu_f)} {threat} {param} eps={eps:.4g}: r*={mp.nstr(r, 12)}", flush=True)
    path = os.path.join(ROOT, "tests", "data", "direction_reference.csv")
    with open(path, "w") as out:
        out.write("case,source,kappa,threat,param,dim,eps,r_exact,clean_exact,w,sigma,mu\n")
        for index, (source, kappa, threat, param, d, eps, r, clean, w, sigma_f, mu_f) in enumerate(rows):
            flat = [v for row in sigma_f for v in row]
            out.write(
                f"{index},{source},{kappa!r},{threat},{param!r},{d},{eps!r},{mp.nstr(r, 45)},"
                f"{mp.nstr(clean, 45)},{rr.fmt(w)},{rr.fmt(flat)},{rr.fmt(mu_f)}\n"
            )
    print(f"wrote {len(rows)} rows to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
