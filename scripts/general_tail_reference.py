#!/usr/bin/env python3
"""Reference value for tests/suite/general_models.rs
(`ln_robust_error_is_accurate_in_the_far_tail_for_unequal_priors`).

THEORY P4': RE* = pi Phi(-r - beta) + (1 - pi) Phi(-r + beta) with
beta = ln(pi/(1 - pi))/(2r). The test's model has r* = 40 and pi = 0.1, where
RE* underflows in double precision; this prints ln RE* at 50 digits.

Run: python3 scripts/general_tail_reference.py
"""
from mpmath import mp, mpf, log, ncdf

mp.dps = 50
pi = mpf("0.1")
r = mpf(40)
beta = log(pi / (1 - pi)) / (2 * r)
value = log(pi * ncdf(-r - beta) + (1 - pi) * ncdf(-r + beta))
print(mp.nstr(value, 25))
