"""Exact reference curves where physics has them: the H2 Born-Oppenheimer curve from the literature, H2+
(one electron) solved here in its separable coordinates, two bare protons by Coulomb's law. Each curve is
a function of the distance, so its D_e and r_e come from the curve itself, not from a probe grid.

Energies are relative to the separated fragments (H + H, H + H+, bare protons), in eV, distances in Å.
"""

import numpy as np
from numpy.polynomial import laguerre, legendre
from scipy.interpolate import CubicSpline
from scipy.linalg import eigh
from scipy.optimize import brentq, minimize_scalar

from astray.units import ANGSTROM_TO_BOHR, HARTREE_TO_EV

H2_CITATION = (
    "K. Pachucki, Born-Oppenheimer potential for H2, Phys. Rev. A 82, 032509 (2010): nonrelativistic BO "
    "energies of 82 distances, 0.1-20 bohr, to 1e-12 hartree; cubic spline of E - 1/R against ln R"
)
H2_PLUS_CITATION = (
    "exact nonrelativistic BO energy of H2+ 1s sigma_g, solved in prolate spheroidal coordinates (Legendre "
    "and Laguerre bases, 1e-13 hartree; checks: Madsen & Peek, At. Data 2, 171 (1971))"
)

# Pachucki (2010): (R in bohr, total BO energy E(R) in hartree, nuclear repulsion 1/R included).
H2_BORN_OPPENHEIMER = np.array([
    (0.10, 7.1272167311320), (0.20, 2.19780329522618), (0.30, 0.619241659796226),
    (0.40, -0.120230341178823), (0.50, -0.526638758743001), (0.60, -0.7696354294859092),
    (0.70, -0.9220274615274636), (0.80, -1.0200566663605151), (0.90, -1.0836432399588343),
    (1.00, -1.1245397195468708), (1.10, -1.1500573677385650), (1.20, -1.1649352434403099),
    (1.25, -1.1694196273909022), (1.30, -1.1723471490380904), (1.32, -1.1731387363334793),
    (1.34, -1.1737348749583451), (1.36, -1.1741484985704193), (1.38, -1.1743916836322532),
    (1.39, -1.1744529172784574), (1.40, -1.1744757142204434), (1.41, -1.1744613708706800),
    (1.42, -1.1744111412392317), (1.44, -1.1742078365850950), (1.46, -1.1738750427492034),
    (1.48, -1.1734214182920817), (1.50, -1.1728550795785838), (1.55, -1.1709949198970180),
    (1.60, -1.1685833733714593), (1.70, -1.1624587268984588), (1.80, -1.1550687376116094),
    (1.90, -1.1468506970296887), (2.00, -1.1381329571326480), (2.10, -1.1291638361013193),
    (2.20, -1.1201321168492218), (2.30, -1.1111817652044391), (2.40, -1.1024226060113263),
    (2.50, -1.0939381299558790), (2.60, -1.0857912373961321), (2.70, -1.0780284841838287),
    (2.80, -1.0706832334814249), (2.90, -1.0637780088060211), (3.00, -1.0573262688726617),
    (3.10, -1.0513337722680178), (3.20, -1.045799661432432), (3.30, -1.040717365351395),
    (3.40, -1.0360753951907599), (3.50, -1.0318580848550934), (3.60, -1.0280463083797348),
    (3.70, -1.024618188410962), (3.80, -1.021549795533649), (3.90, -1.018815827696496),
    (4.00, -1.0163902529506681), (4.20, -1.012359959683166), (4.40, -1.0092565162615862),
    (4.60, -1.0068952238227406), (4.80, -1.0051160061003838), (5.00, -1.0037856585839706),
    (5.20, -1.0027968163112547), (5.40, -1.0020650572097059), (5.60, -1.0015252518866137),
    (5.80, -1.0011278808524173), (6.00, -1.0008357076551804), (6.50, -1.0004005485345376),
    (7.00, -1.0001979144800381), (7.50, -1.0001021061478089), (8.00, -1.0000556049730730),
    (8.50, -1.0000321718328288), (9.00, -1.0000197818324911), (9.50, -1.0000128568768268),
    (10.00, -1.0000087557460515), (10.50, -1.0000061899951069), (11.00, -1.0000045059894362),
    (11.50, -1.0000033561745754), (12.00, -1.0000025459695285), (13.00, -1.0000015292866698),
    (14.00, -1.0000009606807911), (15.00, -1.0000006254536319), (16.00, -1.0000004195863122),
    (17.00, -1.0000002888262392), (18.00, -1.0000002033405059), (19.00, -1.0000001460282368),
    (20.00, -1.0000001067401283),
])  # fmt: skip
# London dispersion of two H atoms, C6 in hartree bohr^6 (the long-range tail beyond the table).
H2_C6 = 6.499026705


def born_oppenheimer_interpolant(table=H2_BORN_OPPENHEIMER):
    """The total energy (hartree) between the points of a table of (R in bohr, E in hartree), as h2_curve
    interpolates it. The electronic energy E - 1/R is smooth where E itself is dominated by 1/R, and against
    ln R the table's spacing is nearly even, so a cubic spline of E - 1/R against ln R; built from every
    other point it predicts the rest to 2e-5 hartree (a test leaves them out)."""
    r, energy = np.asarray(table, dtype=float).T
    spline = CubicSpline(np.log(r), energy - 1.0 / r)
    return lambda bohr: spline(np.log(bohr)) + 1.0 / np.asarray(bohr)


_H2 = born_oppenheimer_interpolant()


def h2_curve(distances) -> np.ndarray:
    """Exact H2 X1Sigma_g+ energy relative to two H atoms (eV); -C6/R^6 beyond the table's 20 bohr,
    NaN below its 0.1 bohr."""
    r = np.asarray(distances, dtype=float) * ANGSTROM_TO_BOHR
    inside = (r >= H2_BORN_OPPENHEIMER[0, 0]) & (r <= H2_BORN_OPPENHEIMER[-1, 0])
    energy = np.where(inside, _H2(np.clip(r, 0.1, 20.0)) + 1.0, -H2_C6 / r**6)
    return np.where(r < H2_BORN_OPPENHEIMER[0, 0], np.nan, energy * HARTREE_TO_EV)


def h2_plus_curve(distances) -> np.ndarray:
    """Exact H2+ 1s sigma_g energy relative to H + H+ (eV)."""
    bohr = np.asarray(distances, dtype=float) * ANGSTROM_TO_BOHR
    return np.array([(h2_plus_electronic_energy(r) + 1.0 / r + 0.5) * HARTREE_TO_EV for r in np.ravel(bohr)])


def h2_plus_electronic_energy(r: float) -> float:
    """Electronic energy (hartree) of H2+'s ground state at internuclear distance r (bohr).

    In prolate spheroidal coordinates (xi, eta) the equation separates into an angular and a radial one
    that share a separation constant A; with p^2 = -E r^2 / 2 both are eigenvalue problems in A:
      angular:  d/deta (1 - eta^2) dM/deta + (A + p^2 eta^2) M = 0            (even Legendre basis)
      radial:   d/dxi (xi^2 - 1) dL/dxi + (2 r xi - p^2 xi^2 - A) L = 0        (Laguerre basis in xi - 1)
    The energy is where the two A(p) agree; E lies between the separated atoms' -0.5 and He+'s -2
    hartree, so p lies in (r/2, r).
    """
    mismatch = lambda p: _angular_constant(p) - _radial_constant(p, r)  # noqa: E731
    p = brentq(mismatch, r / 2 * (1 + 1e-9), r * (1 - 1e-9), xtol=1e-14, rtol=1e-15)
    return -2.0 * p**2 / r**2


def _angular_constant(p: float, size: int = 24) -> float:
    """Lowest A of the angular equation, in a basis of even Legendre polynomials (sigma_g symmetry)."""
    eta, weight = legendre.leggauss(2 * size + 8)
    coefficients = np.eye(2 * size)[::2]
    values = np.array([legendre.legval(eta, c) for c in coefficients])
    slopes = np.array([legendre.legval(eta, legendre.legder(c)) for c in coefficients])
    overlap = (values * weight) @ values.T
    kinetic = (slopes * weight * (1 - eta**2)) @ slopes.T
    squared = (values * weight * eta**2) @ values.T
    return eigh(kinetic - p**2 * squared, overlap, eigvals_only=True)[0]


def _radial_constant(p: float, r: float, size: int = 40) -> float:
    """Highest A of the radial equation (its nodeless solution), in a basis L_k(2p t) exp(-p t) of
    t = xi - 1; Gauss-Laguerre quadrature integrates every matrix element exactly."""
    x, weight = laguerre.laggauss(size + 20)
    t = x / (2 * p)
    coefficients = np.eye(size)
    values = np.array([laguerre.lagval(x, c) for c in coefficients])
    slopes = 2 * p * (np.array([laguerre.lagval(x, laguerre.lagder(c)) for c in coefficients]) - values / 2)
    weight = weight / (2 * p)
    overlap = (values * weight) @ values.T
    kinetic = (slopes * weight * t * (t + 2)) @ slopes.T
    potential = (values * weight * (2 * r * (t + 1) - p**2 * (t + 1) ** 2)) @ values.T
    return eigh(potential - kinetic, overlap, eigvals_only=True)[-1]


def coulomb_curve(distances, z1: int = 1, z2: int = 1) -> np.ndarray:
    """Exact energy of two bare nuclei: Z1 Z2 / r hartree with r in bohr, returned in eV."""
    return z1 * z2 * HARTREE_TO_EV / (np.asarray(distances, dtype=float) * ANGSTROM_TO_BOHR)


def curve_minimum(curve, bracket=(0.5, 1.5), tolerance: float = 1e-8) -> tuple[float, float]:
    """(r_e in Å, D_e in eV) of a bound curve, minimised on the curve itself within `bracket` (Å), to
    `tolerance` Å (a quantum-chemistry curve, converged to ~1e-9 eV, cannot place r_e finer than ~1e-5)."""
    result = minimize_scalar(lambda r: float(curve([r])[0]), bounds=bracket, method="bounded",
                             options={"xatol": tolerance})  # fmt: skip
    return float(result.x), -float(result.fun)
