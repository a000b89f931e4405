#!/usr/bin/env python3
"""Reference values of the adversarial distance r* for the certificate tests.

How to regenerate (from the repository root):

    pip install mpmath
    python3 scripts/robust_reference.py

This writes `tests/data/robust_reference.csv`, read by
`tests/suite/certificates.rs`. Each row is one problem

    r* = min_{z in eps K} ||mu - z||_{Sigma^-1}

of the symmetric model (means +-mu) on a dense covariance with condition
number kappa in {1e4, 1e8, 1e12}, for the threats

* `l2`: K = unit l2 ball (M = I);
* `generative`: K = {Sigma^(1/2) u : ||u|| <= 1} (M = Sigma);
* `generative_rank`: the leading `param` eigen-directions of Sigma,
  M = U_k Lambda_k U_k^T (exact eigenvectors of the float64 matrix);
* `eigenspace`: the l2 ball of the leading `param` eigen-directions,
  M = U_k U_k^T; `off_manifold`: that of the other ones, M = I - U_k U_k^T
  (exact eigenvectors of the float64 matrix, as for `generative_rank`);
* `factor`: K = {A u : ||u|| <= 1} for the d x p factor A in column `factor`;
* `linf`: the unit l-infinity ball;
* `union`: conv(eps B_2 U eps*param B_inf), i.e. `Threat::union` of l2 with
  relative budget 1 and l-infinity with relative budget `param`.

Columns: `case,kappa,threat,dim,param,eps,r_lo,r_hi,r_exact,sigma,mu,factor`.
`sigma` (d*d entries, row-major), `mu` (d) and `factor` (d*p, row-major;
empty unless `threat = factor`) are space-separated doubles printed with
`repr`, so they read back as exactly the doubles the Rust test uses, and the
matrix is exactly symmetric. `r_exact` is r* of *these* float64 inputs,
computed with mpmath at 80 significant digits (certified to 40); `r_lo <= r* <= r_hi` are the
two adjacent doubles around it (the tests compare against these, so a
comparison is never off by the rounding of the reference itself).

Method. Every value is computed in 80-digit arithmetic from the exact
inputs and then *certified* by weak duality (THEORY P4) in the same
precision: a classifier w gives rho(w) = (w^T mu - eps sigma_K(w)) / ||w||_Sigma
<= r*, and a shift z that is feasible (checked exactly, and scaled into the
body if it is not) gives ||mu - z||_{Sigma^-1} >= r*. A row is written only
when the two agree to 1e-40 relative, so no step of the method needs to be
trusted:

* ellipsoids: the secular equation g(lambda) = eps in the generalized
  eigenbasis of (M, Sigma) (mpmath `eigsy`), solved by a safeguarded secant
  method in ln(lambda); w = (Sigma + lambda M)^-1 mu, z = lambda M w;
* l-infinity: a primal-dual active-set method on the box-constrained dual
  (the face where a set B sits at +-eps: y_B = Sigma_BB^-1 (mu_B - z_B),
  z_F = mu_F - Sigma_FB y_B), started from the coordinates with |mu_i| > eps;
* union: r* = min over t in [0, 1] of the distance to the Minkowski sum
  t eps B_2 + (1 - t) eps param B_inf; for fixed t the KKT system (an active
  set for the box and the l2 multiplier nu from nu ||w_B(nu)|| = t eps) is
  solved as for l-infinity, and t from the tie eps ||w||_2 = eps param ||w||_1
  of the two parts at the optimum (the derivative of the distance in t,
  increasing in t).

Deterministic (fixed seed).
"""

import math
import os
import random

import mpmath as mp

mp.mp.dps = 80
SEED = 20261203
DIGITS_CHECK = mp.mpf("1e-40")


def to_mp_matrix(rows):
    return mp.matrix([[mp.mpf(v) for v in row] for row in rows])


def to_mp_vector(v):
    return mp.matrix([mp.mpf(x) for x in v])


def random_rotation(d, rng):
    """A random orthogonal matrix (Gram-Schmidt in mp, returned as floats)."""
    cols = []
    for _ in range(d):
        v = [mp.mpf(rng.gauss(0.0, 1.0)) for _ in range(d)]
        for c in cols:
            dot = mp.fsum(a * b for a, b in zip(v, c))
            v = [a - dot * b for a, b in zip(v, c)]
        n = mp.sqrt(mp.fsum(a * a for a in v))
        cols.append([a / n for a in v])
    return [[float(cols[j][i]) for j in range(d)] for i in range(d)]


def dense_covariance(d, kappa, rng):
    """Sigma = fl(Q diag(lambda) Q^T), made exactly symmetric; eigenvalues
    log-spaced (with jitter) from 1 down to 1/kappa."""
    q = random_rotation(d, rng)
    exps = sorted([0.0, 1.0] + [rng.random() for _ in range(d - 2)])
    values = [kappa ** (-e) for e in exps]
    sigma = [[0.0] * d for _ in range(d)]
    for i in range(d):
        for j in range(i, d):
            s = math.fsum(q[i][k] * values[k] * q[j][k] for k in range(d))
            sigma[i][j] = s
            sigma[j][i] = s
    return sigma


def quad_inv(sigma, v):
    """v^T Sigma^-1 v (mp)."""
    x = mp.lu_solve(sigma, v)
    return (v.T * x)[0]


def quad(sigma, v):
    return (v.T * sigma * v)[0]


def dot(a, b):
    return mp.fsum(a[i] * b[i] for i in range(len(a)))


def norm2(v):
    return mp.sqrt(dot(v, v))


def norm1(v):
    return mp.fsum(abs(x) for x in v)


def norminf(v):
    return max(abs(x) for x in v)


def secant_root(f, lo, hi, iterations=400):
    """Root of an increasing f on [lo, hi] (f(lo) < 0 < f(hi)): Illinois
    regula falsi, to full working precision."""
    flo, fhi = f(lo), f(hi)
    assert flo < 0 < fhi, (flo, fhi)
    side = 0
    for _ in range(iterations):
        x = (lo * fhi - hi * flo) / (fhi - flo)
        fx = f(x)
        if fx == 0 or abs(hi - lo) < mp.mpf(10) ** (-mp.mp.dps + 3) * (1 + abs(x)):
            return x
        if fx < 0:
            lo, flo = x, fx
            if side == -1:
                fhi /= 2
            side = -1
        else:
            hi, fhi = x, fx
            if side == 1:
                flo /= 2
            side = 1
    return (lo + hi) / 2


# ---------------------------------------------------------------- ellipsoids


def ellipsoid_certificate(sigma, mu, m_matrix, eps):
    """r* for K = {A u}, M = A A^T, with its 50-digit certificate."""
    d = len(mu)
    chol = mp.cholesky(sigma)
    linv = mp.inverse(chol)
    c = linv * m_matrix * linv.T
    c = (c + c.T) / 2
    values, vectors = mp.eigsy(c)
    top = max(values)
    whitened = linv * mu
    m = vectors.T * whitened
    terms = [(values[j], m[j] ** 2) for j in range(d)]
    active = [(dj, cj) for dj, cj in terms if dj > top * mp.mpf("1e-40")]
    limit = mp.sqrt(mp.fsum(cj / dj for dj, cj in active))
    assert eps < limit, "budget past the limit"

    def g(u):
        lam = mp.exp(u)
        return lam * mp.sqrt(mp.fsum(dj * cj / (1 + lam * dj) ** 2 for dj, cj in active)) - eps

    lo, hi = mp.mpf(-300), mp.mpf(300)
    while g(lo) >= 0:
        lo *= 2
    while g(hi) <= 0:
        hi *= 2
    lam = mp.exp(secant_root(g, lo, hi))
    w = mp.lu_solve(sigma + lam * m_matrix, mu)
    support = mp.sqrt(max(quad(m_matrix, w), mp.mpf(0)))
    lower = (dot(w, mu) - eps * support) / mp.sqrt(quad(sigma, w))
    z = lam * (m_matrix * w)
    # z = M (lambda w) lies in eps K iff lambda ||A^T w|| <= eps; scale it in.
    reach = lam * support
    if reach > eps:
        z = z * (eps / reach)
    upper = mp.sqrt(quad_inv(sigma, mu - z))
    return lower, upper


# ---------------------------------------------------------------- l-infinity


def linf_face(sigma, mu, eps, signs):
    """The face solution for the active signs {i: s_i != 0}."""
    d = len(mu)
    b = [i for i in range(d) if signs[i] != 0]
    f = [i for i in range(d) if signs[i] == 0]
    z = mp.matrix(d, 1)
    y = mp.matrix(d, 1)
    if b:
        sbb = mp.matrix([[sigma[i, j] for j in b] for i in b])
        rhs = mp.matrix([mu[i] - eps * signs[i] for i in b])
        yb = mp.lu_solve(sbb, rhs)
        for a, i in enumerate(b):
            y[i] = yb[a]
            z[i] = eps * signs[i]
    for i in f:
        z[i] = mu[i] - mp.fsum(sigma[i, j] * y[j] for j in b)
    return z, y


def linf_certificate(sigma, mu, eps):
    d = len(mu)
    signs = [(1 if mu[i] > 0 else -1) if abs(mu[i]) > eps else 0 for i in range(d)]
    for _ in range(200):
        z, y = linf_face(sigma, mu, eps, signs)
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
        raise RuntimeError("active set did not settle")
    z = mp.matrix([max(-eps, min(eps, z[i])) for i in range(d)])
    w = mp.lu_solve(sigma, mu - z)
    lower = (dot(w, mu) - eps * norm1(w)) / mp.sqrt(quad(sigma, w))
    upper = mp.sqrt(quad_inv(sigma, mu - z))
    return lower, upper


# ---------------------------------------------------------------- union l2 + linf


def sum_body_solution(sigma, mu, a, b):
    """min ||mu - z1 - z2||_{Sigma^-1}, ||z1||_2 <= a, ||z2||_inf <= b: the
    KKT point (w, z1, z2) (w = Sigma^-1 (mu - z1 - z2))."""
    d = len(mu)
    signs = [(1 if mu[i] > 0 else -1) if abs(mu[i]) > b else 0 for i in range(d)]
    for _ in range(200):
        bset = [i for i in range(d) if signs[i] != 0]
        fset = [i for i in range(d) if signs[i] == 0]
        assert bset, "covered"
        sbb = mp.matrix([[sigma[i, j] for j in bset] for i in bset])
        rhs = mp.matrix([mu[i] - b * signs[i] for i in bset])

        def wb(nu):
            return mp.lu_solve(sbb + nu * mp.eye(len(bset)), rhs)

        def h(lognu):
            nu = mp.exp(lognu)
            return nu * norm2(wb(nu)) - a

        lo, hi = mp.mpf(-60), mp.mpf(60)
        while h(lo) >= 0:
            lo *= 2
        while h(hi) <= 0:
            hi *= 2
        nu = mp.exp(secant_root(h, lo, hi))
        wbv = wb(nu)
        w = mp.matrix(d, 1)
        for k, i in enumerate(bset):
            w[i] = wbv[k]
        z2 = mp.matrix(d, 1)
        for i in bset:
            z2[i] = b * signs[i]
        for i in fset:
            z2[i] = mu[i] - mp.fsum(sigma[i, j] * w[j] for j in bset)
        new = list(signs)
        for i in range(d):
            if signs[i] == 0 and abs(z2[i]) > b:
                new[i] = 1 if z2[i] > 0 else -1
            elif signs[i] != 0 and signs[i] * w[i] < 0:
                new[i] = 0
        if new == signs:
            z1 = w * (a / norm2(w))
            return w, z1, z2
        signs = new
    raise RuntimeError("active set did not settle")


def union_certificate(sigma, mu, eps, relative):
    c1, c2 = eps, eps * relative

    def tie(t):
        # Increasing in t: more l2 budget makes the l2 part less valuable.
        w, _, _ = sum_body_solution(sigma, mu, t * c1, (1 - t) * c2)
        return c2 * norm1(w) - c1 * norm2(w)

    small = mp.mpf("1e-6")
    lo, hi = small, 1 - small
    try:
        if not (tie(lo) < 0 < tie(hi)):
            return None
    except AssertionError:  # the sum body covers mu at an end
        return None
    t = secant_root(tie, lo, hi)
    w, z1, z2 = sum_body_solution(sigma, mu, t * c1, (1 - t) * c2)
    gauge = norm2(z1) / c1 + norminf(z2) / c2
    z = z1 + z2
    if gauge > 1:
        z = z / gauge
    w = mp.lu_solve(sigma, mu - z)
    support = max(c1 * norm2(w), c2 * norm1(w))
    lower = (dot(w, mu) - support) / mp.sqrt(quad(sigma, w))
    upper = mp.sqrt(quad_inv(sigma, mu - z))
    return lower, upper


# ---------------------------------------------------------------- output


def bracket(value):
    """The adjacent doubles r_lo <= value <= r_hi."""
    x = float(value)
    if mp.mpf(x) > value:
        return math.nextafter(x, -math.inf), x
    if mp.mpf(x) < value:
        return x, math.nextafter(x, math.inf)
    return x, x


def fmt(values):
    return " ".join(repr(float(v)) for v in values)


def main():
    rng = random.Random(SEED)
    rows = []
    for kappa in (1e4, 1e8, 1e12):
        for d in (6, 10):
            sigma_f = dense_covariance(d, kappa, rng)
            mu_f = [rng.choice([-1, 1]) * (0.5 + rng.random()) for _ in range(d)]
            sigma = to_mp_matrix(sigma_f)
            mu = to_mp_vector(mu_f)
            p = 3
            factor_f = [[rng.gauss(0.0, 1.0) for _ in range(p)] for _ in range(d)]
            values, vectors = mp.eigsy(sigma)
            order = sorted(range(d), key=lambda j: -values[j])
            k = 3
            lead = mp.matrix(d, d)
            for j in order[:k]:
                u = vectors[:, j]
                lead += values[j] * (u * u.T)
            factor = to_mp_matrix(factor_f)
            projector = mp.matrix(d, d)
            for j in order[:k]:
                u = vectors[:, j]
                projector += u * u.T
            ellipsoids = [
                ("l2", 0, mp.eye(d), []),
                ("generative", 0, sigma, []),
                ("generative_rank", k, lead, []),
                ("eigenspace", k, projector, []),
                ("off_manifold", k, mp.eye(d) - projector, []),
                ("factor", p, factor * factor.T, factor_f),
            ]
            for name, param, m_matrix, factor_rows in ellipsoids:
                # eps_max from the pencil, then budgets at fixed fractions of it.
                chol = mp.cholesky(sigma)
                linv = mp.inverse(chol)
                c = linv * m_matrix * linv.T
                vals, vecs = mp.eigsy((c + c.T) / 2)
                m = vecs.T * (linv * mu)
                top = max(vals)
                limit = mp.sqrt(
                    mp.fsum(m[j] ** 2 / vals[j] for j in range(d) if vals[j] > top * mp.mpf("1e-40"))
                )
                for fraction in (0.2, 0.6):
                    eps = float(mp.mpf(fraction) * limit)
                    lower, upper = ellipsoid_certificate(sigma, mu, m_matrix, mp.mpf(eps))
                    rows.append((kappa, name, d, param, eps, lower, upper, sigma_f, mu_f, factor_rows))
            cover = float(norminf(mu))
            for fraction in (0.3, 0.7):
                eps = fraction * cover
                lower, upper = linf_certificate(sigma, mu, mp.mpf(eps))
                rows.append((kappa, "linf", d, 0, eps, lower, upper, sigma_f, mu_f, []))
            found = 0
            for relative in (0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0):
                for fraction in (0.3, 0.6, 0.8, 0.9):
                    eps = fraction * float(norm2(mu))
                    result = union_certificate(sigma, mu, mp.mpf(eps), mp.mpf(relative))
                    if result is None:
                        continue
                    lower, upper = result
                    rows.append((kappa, "union", d, relative, eps, lower, upper, sigma_f, mu_f, []))
                    found += 1
                    if found == 2:
                        break
                if found == 2:
                    break
            assert found == 2, f"no union case with both parts active (kappa {kappa}, d {d})"
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "robust_reference.csv")
    with open(path, "w") as out:
        out.write("case,kappa,threat,dim,param,eps,r_lo,r_hi,r_exact,sigma,mu,factor\n")
        for index, (kappa, name, d, param, eps, lower, upper, sigma_f, mu_f, factor_rows) in enumerate(rows):
            assert upper - lower <= DIGITS_CHECK * upper, (name, kappa, lower, upper)
            r = (lower + upper) / 2
            r_lo, r_hi = bracket(lower)[0], bracket(upper)[1]
            flat_sigma = [v for row in sigma_f for v in row]
            flat_factor = [v for row in factor_rows for v in row]
            out.write(
                f"{index},{kappa!r},{name},{d},{param!r},{eps!r},{r_lo!r},{r_hi!r},"
                f"{mp.nstr(r, 45)},{fmt(flat_sigma)},{fmt(mu_f)},{fmt(flat_factor)}\n"
            )
    print(f"wrote {len(rows)} rows to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
