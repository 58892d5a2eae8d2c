//! Real Schur decomposition and Schur-mode analysis of recurrent weight matrices
//! (Orhan & Ma 2019, Supp. Fig. 12).
//!
//! A real square matrix factors as `W = Q T Qᵀ` with `Q` orthogonal and `T`
//! quasi-upper-triangular: 1×1 diagonal blocks for real eigenvalues and 2×2
//! blocks for complex-conjugate pairs. Each diagonal position is a *Schur mode*
//! (the columns of `Q` are the mode directions); the diagonal blocks are the
//! modes' self-interactions, and the strictly upper part of `T` outside the
//! diagonal blocks is the feed-forward interaction between modes: a normal
//! matrix has none, so its size measures non-normality.
//!
//! **Orientation.** Weight matrices follow the row-vector convention of
//! the original Lasagne code (github.com/eminorhan/recurrent-memory),
//! `W[pre, post]` with `h_t = f(h_{t−1} W + …)`. In mode coordinates `z = h Q`
//! the linear dynamics read `z_t = z_{t−1} T`, so `T[i, j]` with `i < j` is the
//! drive from mode `i` to mode `j`: earlier modes (in the Schur order) feed
//! later ones, never the reverse. For a matrix in the column convention
//! (`W[post, pre]`), decompose its transpose to keep this reading.
//!
//! The decomposition is nalgebra's unblocked Francis double-shift QR
//! (`Schur::try_new`, always with a finite iteration limit, since nalgebra's
//! `Schur::new` can loop forever). nalgebra does not order the modes; use
//! [`reorder_schur`] to sort them by eigenvalue magnitude or real part (adjacent
//! block swaps as in LAPACK `dtrexc`, so the result is still an exact orthogonal
//! similarity).

use nalgebra::DMatrix;
use ndarray::{Array2, ArrayView2};
use serde::Serialize;

use crate::error::{AnalysisError, Result, ensure_at_least, ensure_finite};

/// A real Schur decomposition `A = Q T Qᵀ` of an N × N matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RealSchur {
    /// Orthogonal N × N matrix; column `i` is the direction of mode `i`.
    pub q: Array2<f64>,
    /// Quasi-upper-triangular N × N matrix: zero below the subdiagonal; a
    /// non-zero subdiagonal entry `T[i+1, i]` marks a 2×2 block holding a
    /// complex-conjugate eigenvalue pair. Entries below the subdiagonal are
    /// exactly 0.
    pub t: Array2<f64>,
    /// Eigenvalue `(re, im)` at each diagonal position (length N). A 2×2 block at
    /// `i, i+1` gives `(re, +im)` then `(re, −im)` with `im > 0`.
    pub eigenvalues: Vec<(f64, f64)>,
}

impl RealSchur {
    /// Matrix size N.
    pub fn dim(&self) -> usize {
        self.t.nrows()
    }

    /// The diagonal blocks as `(start, size)` with size 1 or 2, in order.
    pub fn blocks(&self) -> Vec<(usize, usize)> {
        blocks_of(self.t.view())
    }

    /// For every diagonal position, the index of its block in [`Self::blocks`]
    /// (the two positions of a complex pair share a block).
    pub fn block_index(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.dim());
        for (b, &(_, size)) in self.blocks().iter().enumerate() {
            out.extend(std::iter::repeat_n(b, size));
        }
        out
    }

    /// `Q T Qᵀ`, the decomposed matrix (up to rounding).
    pub fn reconstruct(&self) -> Array2<f64> {
        self.q.dot(&self.t).dot(&self.q.t())
    }
}

/// Real Schur decomposition with the default tolerance (`f64::EPSILON`) and
/// iteration limit (`30 · max(N, 10)` QR sweeps, LAPACK's budget).
///
/// `a` is a square N × N matrix (N ≥ 1), finite; for a weight matrix, pass it in
/// the `[pre, post]` orientation (see the module docs).
///
/// # Errors
/// [`AnalysisError::ShapeMismatch`] if `a` is not square, [`AnalysisError::TooFew`]
/// if N = 0, [`AnalysisError::NonFinite`] for NaN/∞ entries, and
/// [`AnalysisError::Numerical`] if the QR iteration does not converge within
/// the limit (nalgebra has no exceptional shifts; some highly structured
/// matrices, such as cyclic permutations, can stall) or returns a malformed `T`.
///
/// # Example
/// ```
/// use ndarray::array;
/// use wm_analysis::schur::real_schur;
///
/// // A rotation by 0.3 rad scaled by 0.9, plus a real mode fed by it.
/// let (c, s) = (0.9 * 0.3f64.cos(), 0.9 * 0.3f64.sin());
/// let w = array![[c, s, 0.5], [-s, c, 0.2], [0.0, 0.0, 0.5]];
/// let schur = real_schur(w.view()).unwrap();
/// let err = (&schur.reconstruct() - &w).iter().fold(0.0f64, |m, v| m.max(v.abs()));
/// assert!(err < 1e-12);
/// let mut mags: Vec<f64> = schur.eigenvalues.iter().map(|&(re, im)| re.hypot(im)).collect();
/// mags.sort_by(f64::total_cmp);
/// assert!((mags[0] - 0.5).abs() < 1e-12 && (mags[2] - 0.9).abs() < 1e-12);
/// ```
pub fn real_schur(a: ArrayView2<f64>) -> Result<RealSchur> {
    let n = a.nrows();
    real_schur_with(a, f64::EPSILON, 30 * n.max(10))
}

/// Real Schur decomposition with an explicit convergence tolerance `eps`
/// (relative, finite, > 0; nalgebra's default is `f64::EPSILON`) and iteration
/// limit `max_niter` (≥ 1: the number of QR sweeps plus deflations after which
/// the attempt is abandoned).
///
/// # Errors
/// As [`real_schur`], plus [`AnalysisError::InvalidParameter`] for bad `eps` or
/// `max_niter = 0` (which nalgebra reads as "no limit").
pub fn real_schur_with(a: ArrayView2<f64>, eps: f64, max_niter: usize) -> Result<RealSchur> {
    let (n, m) = a.dim();
    if n != m {
        return Err(AnalysisError::shape(
            "a",
            "square matrix",
            format!("{n}x{m}"),
        ));
    }
    ensure_at_least("matrix dimension", 1, n)?;
    ensure_finite("a", a.iter())?;
    if !(eps.is_finite() && eps > 0.0) {
        return Err(AnalysisError::invalid("eps", eps, "finite and > 0"));
    }
    if max_niter == 0 {
        return Err(AnalysisError::invalid(
            "max_niter",
            0,
            ">= 1 (0 would mean no limit)",
        ));
    }
    // Decompose A − μI with μ = mean diagonal (same Schur vectors, T shifted by
    // μI). Near-multiples of the identity, such as the λ0·I + E initialisation
    // with a small E, otherwise stall nalgebra's QR: its deflation test is
    // relative to |T_ii| ≈ λ0 rather than to the eigenvalue spread.
    let mu = a.diag().sum() / n as f64;
    let dm = DMatrix::from_fn(n, n, |i, j| if i == j { a[[i, j]] - mu } else { a[[i, j]] });
    let schur = nalgebra::linalg::Schur::try_new(dm, eps, max_niter).ok_or_else(|| {
        AnalysisError::Numerical {
            what: "real Schur decomposition",
            reason: format!("Francis QR did not converge within {max_niter} iterations"),
        }
    })?;
    let (mut q, mut t) = schur.unpack();
    for i in 0..n {
        t[(i, i)] += mu;
    }
    if q.iter().chain(t.iter()).any(|v| !v.is_finite()) {
        return Err(AnalysisError::Numerical {
            what: "real Schur decomposition",
            reason: "non-finite entries in Q or T".into(),
        });
    }
    standardize(&mut t, &mut q)?;
    Ok(pack(&q, &t))
}

/// How to order the Schur modes. Sorting is by block, so the two positions of a
/// complex pair stay together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ModeOrder {
    /// Leave the order nalgebra produced.
    AsComputed,
    /// Decreasing eigenvalue magnitude `|λ|` (slowest-decaying modes first).
    Magnitude,
    /// Decreasing real part `Re λ`.
    RealPart,
}

impl ModeOrder {
    fn key(self, (re, im): (f64, f64)) -> f64 {
        match self {
            ModeOrder::AsComputed => 0.0,
            ModeOrder::Magnitude => re.hypot(im),
            ModeOrder::RealPart => re,
        }
    }
}

/// Reorder the Schur form so that the modes follow `order` (decreasing key),
/// returning a new decomposition `A = Q' T' Q'ᵀ` of the same matrix.
///
/// Adjacent diagonal blocks are swapped by orthogonal similarities (a Givens
/// rotation for two 1×1 blocks; otherwise the Sylvester-equation method of
/// Bai & Demmel used by LAPACK `dlaexc`), in a stable insertion sort: blocks
/// whose keys differ by less than `1e-12 · max|λ|` keep their relative order.
/// The strictly upper part of `T` depends on the mode order, so compare
/// interaction matrices only under the same order.
///
/// # Errors
/// [`AnalysisError::Numerical`] if a swap is rejected because the two blocks'
/// eigenvalues are too close for a stable exchange (the residual exceeds
/// `100 ε · max|block|`).
pub fn reorder_schur(schur: &RealSchur, order: ModeOrder) -> Result<RealSchur> {
    let n = schur.dim();
    let mut t = DMatrix::from_fn(n, n, |i, j| schur.t[[i, j]]);
    let mut q = DMatrix::from_fn(n, n, |i, j| schur.q[[i, j]]);
    if order == ModeOrder::AsComputed || n < 2 {
        return Ok(pack(&q, &t));
    }
    let blocks = blocks_of(schur.t.view());
    let scale = schur
        .eigenvalues
        .iter()
        .map(|&(re, im)| re.hypot(im))
        .fold(0.0, f64::max);
    let tol = 1e-12 * scale.max(f64::MIN_POSITIVE);
    // (size, key) of each block in the current order.
    let mut cur: Vec<(usize, f64)> = blocks
        .iter()
        .map(|&(s, size)| (size, order.key(schur.eigenvalues[s])))
        .collect();
    let mut start_of = 0; // start of block j before moving it
    for j in 0..cur.len() {
        let mut pos = j;
        let mut start = start_of;
        start_of += cur[j].0;
        while pos > 0 && cur[pos].1 > cur[pos - 1].1 + tol {
            let (p, qsz) = (cur[pos - 1].0, cur[pos].0);
            let k = start - p;
            swap_blocks(&mut t, &mut q, k, p, qsz)?;
            cur.swap(pos - 1, pos);
            pos -= 1;
            start = k;
        }
    }
    Ok(pack(&q, &t))
}

/// One Schur mode: a diagonal position of `T` and its eigenvalue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeInfo {
    /// Diagonal position in `T` (0-based).
    pub position: usize,
    /// Index of the diagonal block holding this position.
    pub block: usize,
    /// Size of that block: 1 (real eigenvalue) or 2 (complex pair).
    pub block_size: usize,
    /// Real part of the eigenvalue.
    pub re: f64,
    /// Imaginary part of the eigenvalue (±, see [`RealSchur::eigenvalues`]).
    pub im: f64,
    /// `|λ|`: per-step growth (> 1) or decay (< 1) factor of the mode.
    pub magnitude: f64,
    /// `|arg λ|` in rad/step, in `[0, π]`: 0 for a positive real eigenvalue, π
    /// for a negative one (period-2 alternation), `2π / period` for a rotation.
    pub frequency: f64,
}

/// Describe every mode (diagonal position) of a Schur decomposition, in the
/// decomposition's order.
pub fn describe_modes(schur: &RealSchur) -> Vec<ModeInfo> {
    let mut out = Vec::with_capacity(schur.dim());
    for (b, &(start, size)) in schur.blocks().iter().enumerate() {
        for position in start..start + size {
            let (re, im) = schur.eigenvalues[position];
            out.push(ModeInfo {
                position,
                block: b,
                block_size: size,
                re,
                im,
                magnitude: re.hypot(im),
                frequency: im.abs().atan2(re),
            });
        }
    }
    out
}

/// The mode-interaction matrix: `T` restricted to its strictly upper part
/// *outside* the diagonal blocks (entries `(i, j)` with `i < j` in different
/// blocks), zero elsewhere. N × N; entry `(i, j)` is the feed-forward drive
/// from mode `i` to mode `j` (see the module docs).
pub fn interaction_matrix(schur: &RealSchur) -> Array2<f64> {
    let n = schur.dim();
    let block = schur.block_index();
    Array2::from_shape_fn((n, n), |(i, j)| {
        if i < j && block[i] != block[j] {
            schur.t[[i, j]]
        } else {
            0.0
        }
    })
}

/// Population standard deviation (ddof = 0) of the interaction entries of `T`
/// (all `(i, j)`, `i < j`, in different diagonal blocks — the entries of
/// [`interaction_matrix`] that are not structurally zero). This is the scale
/// for the significance threshold when computed on a reference matrix.
///
/// # Errors
/// [`AnalysisError::TooFew`] if `T` has no interaction entry (a single block).
pub fn interaction_sd(schur: &RealSchur) -> Result<f64> {
    let block = schur.block_index();
    let n = schur.dim();
    let vals: Vec<f64> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .filter(|&(i, j)| block[i] != block[j])
        .map(|(i, j)| schur.t[[i, j]])
        .collect();
    ensure_at_least("interaction entries of T", 1, vals.len())?;
    let mean = vals.iter().sum::<f64>() / vals.len() as f64;
    Ok((vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64).sqrt())
}

/// Reference scale for significance: the [`interaction_sd`] of the Schur form
/// of `w_ref` (e.g. the untrained initial `W_hh`, `[pre, post]`), with its
/// modes ordered by `order` — use the same order as for the analysed matrix.
///
/// # Errors
/// As [`real_schur`], [`reorder_schur`] and [`interaction_sd`].
pub fn reference_interaction_sd(w_ref: ArrayView2<f64>, order: ModeOrder) -> Result<f64> {
    let s = reorder_schur(&real_schur(w_ref)?, order)?;
    interaction_sd(&s)
}

/// Schur-mode analysis of one matrix (Orhan & Ma, Supp. Fig. 12).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchurModes {
    /// Per-mode description (eigenvalue, magnitude, frequency), length N.
    pub modes: Vec<ModeInfo>,
    /// The mode-interaction matrix ([`interaction_matrix`]), N × N.
    pub interaction: Array2<f64>,
    /// The multiplier `c` of the threshold.
    pub c: f64,
    /// The reference standard deviation the threshold is based on.
    pub reference_sd: f64,
    /// `c · reference_sd`: an interaction is significant if `|T_ij|` exceeds it.
    pub threshold: f64,
    /// Significant interactions `(i, j)` (from mode `i` to mode `j`, `i < j`),
    /// row-major order.
    pub significant_interactions: Vec<(usize, usize)>,
    /// Per mode: does it take part (as source or target) in at least one
    /// significant interaction? Length N.
    pub significant: Vec<bool>,
    /// Number of `true` entries in `significant`.
    pub n_significant_modes: usize,
    /// [`interaction_sd`] of this matrix itself (NaN if it has a single block).
    pub interaction_sd: f64,
    /// `‖interaction‖_F`: the feed-forward (non-normal) part of `T`.
    pub feedforward_norm: f64,
    /// `‖block-diagonal part of T‖_F`: the modes' self-interactions.
    pub diagonal_norm: f64,
    /// `‖T‖_F = ‖A‖_F`; `feedforward_norm² + diagonal_norm² = total_norm²`.
    pub total_norm: f64,
    /// `feedforward_norm / total_norm` in `[0, 1]`: 0 for a normal matrix, 1 for a
    /// nilpotent chain already in triangular form; NaN for the zero matrix. It
    /// depends on the mode order, and it misses the non-normality hidden inside
    /// 2×2 blocks (a 2×2 block may itself be non-normal); see
    /// `departure_from_normality` for an order-free measure.
    pub feedforward_fraction: f64,
    /// Henrici's departure from normality `√(‖T‖_F² − Σ|λ|²)` (clamped at 0): the
    /// Frobenius norm of the strictly upper part of the *complex* Schur form,
    /// independent of the mode order and of how 2×2 blocks are represented.
    pub departure_from_normality: f64,
    /// `departure_from_normality / total_norm` in `[0, 1]` (NaN for the zero
    /// matrix): 0 for a normal matrix, 1 for a nilpotent matrix.
    pub nonnormal_fraction: f64,
}

/// Analyse the Schur modes of a decomposition: interaction matrix, significant
/// interactions `|T_ij| > c · reference_sd`, which modes take part in them, and
/// the feed-forward strength.
///
/// `reference_sd` is typically [`reference_interaction_sd`] of the untrained
/// matrix. (Orhan & Ma 2019, Supp. Fig. 12, show the modes with an interaction
/// of magnitude above an absolute 0.04; `c · reference_sd` makes the cut
/// relative to an untrained network instead.) Sort `schur` first
/// ([`reorder_schur`]) if the mode order matters.
///
/// # Errors
/// [`AnalysisError::InvalidParameter`] if `c` or `reference_sd` is negative or
/// not finite.
pub fn schur_modes(schur: &RealSchur, c: f64, reference_sd: f64) -> Result<SchurModes> {
    if !(c.is_finite() && c >= 0.0) {
        return Err(AnalysisError::invalid("c", c, "finite and >= 0"));
    }
    if !(reference_sd.is_finite() && reference_sd >= 0.0) {
        return Err(AnalysisError::invalid(
            "reference_sd",
            reference_sd,
            "finite and >= 0",
        ));
    }
    let n = schur.dim();
    let interaction = interaction_matrix(schur);
    let threshold = c * reference_sd;
    let mut significant = vec![false; n];
    let mut significant_interactions = Vec::new();
    for ((i, j), &v) in interaction.indexed_iter() {
        if i < j && v.abs() > threshold {
            significant_interactions.push((i, j));
            significant[i] = true;
            significant[j] = true;
        }
    }
    let frob = |it: &mut dyn Iterator<Item = f64>| it.map(|v| v * v).sum::<f64>().sqrt();
    let feedforward_norm = frob(&mut interaction.iter().copied());
    let total_norm = frob(&mut schur.t.iter().copied());
    let diagonal_norm = frob(&mut schur.t.iter().zip(interaction.iter()).map(|(t, u)| t - u));
    let eig_sq: f64 = schur
        .eigenvalues
        .iter()
        .map(|&(re, im)| re * re + im * im)
        .sum();
    let departure_from_normality = (total_norm * total_norm - eig_sq).max(0.0).sqrt();
    let ratio = |x: f64| {
        if total_norm > 0.0 {
            x / total_norm
        } else {
            f64::NAN
        }
    };
    Ok(SchurModes {
        modes: describe_modes(schur),
        c,
        reference_sd,
        threshold,
        n_significant_modes: significant.iter().filter(|&&s| s).count(),
        significant,
        significant_interactions,
        interaction_sd: interaction_sd(schur).unwrap_or(f64::NAN),
        feedforward_norm,
        diagonal_norm,
        total_norm,
        feedforward_fraction: ratio(feedforward_norm),
        departure_from_normality,
        nonnormal_fraction: ratio(departure_from_normality),
        interaction,
    })
}

// ---------------------------------------------------------------------------
// Internals (nalgebra DMatrix, column-major).

fn blocks_of(t: ArrayView2<f64>) -> Vec<(usize, usize)> {
    let n = t.nrows();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        if i + 1 < n && t[[i + 1, i]] != 0.0 {
            out.push((i, 2));
            i += 2;
        } else {
            out.push((i, 1));
            i += 1;
        }
    }
    out
}

/// Eigenvalues of the 2×2 block `[[a, b], [c, d]]`: `(re, im ≥ 0)` for a complex
/// pair, or `None` if they are real.
fn block_eig(a: f64, b: f64, c: f64, d: f64) -> Option<(f64, f64)> {
    let half = 0.5 * (a - d);
    let disc = half * half + b * c;
    if disc < 0.0 {
        Some((0.5 * (a + d), (-disc).sqrt()))
    } else {
        None
    }
}

fn pack(q: &DMatrix<f64>, t: &DMatrix<f64>) -> RealSchur {
    let n = t.nrows();
    let t_nd = Array2::from_shape_fn((n, n), |(i, j)| t[(i, j)]);
    let q_nd = Array2::from_shape_fn((n, n), |(i, j)| q[(i, j)]);
    let mut eigenvalues = Vec::with_capacity(n);
    for (s, size) in blocks_of(t_nd.view()) {
        if size == 1 {
            eigenvalues.push((t[(s, s)], 0.0));
        } else {
            // `standardize` guarantees 2×2 blocks have complex eigenvalues.
            let (re, im) = block_eig(t[(s, s)], t[(s, s + 1)], t[(s + 1, s)], t[(s + 1, s + 1)])
                .unwrap_or((t[(s, s)], 0.0));
            eigenvalues.push((re, im));
            eigenvalues.push((re, -im));
        }
    }
    RealSchur {
        q: q_nd,
        t: t_nd,
        eigenvalues,
    }
}

/// Make `T` a proper quasi-triangular form: exact zeros below the subdiagonal,
/// no two adjacent non-zero subdiagonal entries, and 2×2 blocks only for
/// complex pairs (a 2×2 block with real eigenvalues is split by a rotation).
fn standardize(t: &mut DMatrix<f64>, q: &mut DMatrix<f64>) -> Result<()> {
    let n = t.nrows();
    for j in 0..n {
        for i in j + 2..n {
            t[(i, j)] = 0.0;
        }
    }
    let mut i = 0;
    while i + 1 < n {
        if t[(i + 1, i)] == 0.0 {
            i += 1;
            continue;
        }
        if i + 2 < n && t[(i + 2, i + 1)] != 0.0 {
            return Err(AnalysisError::Numerical {
                what: "real Schur decomposition",
                reason: format!("T is not quasi-triangular at rows {i}..{}", i + 3),
            });
        }
        split_if_real(t, q, i);
        i += 2;
    }
    Ok(())
}

/// If the 2×2 block at `k` has real eigenvalues, triangularise it with a
/// rotation whose first column is an eigenvector.
fn split_if_real(t: &mut DMatrix<f64>, q: &mut DMatrix<f64>, k: usize) {
    let (a, b, c, d) = (t[(k, k)], t[(k, k + 1)], t[(k + 1, k)], t[(k + 1, k + 1)]);
    if c == 0.0 || block_eig(a, b, c, d).is_some() {
        return;
    }
    let half = 0.5 * (a - d);
    let disc = (half * half + b * c).max(0.0).sqrt();
    let lam = 0.5 * (a + d) + if half >= 0.0 { disc } else { -disc };
    // Two expressions for the eigenvector of `lam`; take the better-scaled one.
    let v1 = (lam - d, c);
    let v2 = (b, lam - a);
    let (x, y) = if v1.0.hypot(v1.1) >= v2.0.hypot(v2.1) {
        v1
    } else {
        v2
    };
    let r = x.hypot(y);
    if r == 0.0 {
        return;
    }
    rotate(t, q, k, x / r, y / r);
    t[(k + 1, k)] = 0.0;
}

/// Similarity by `G = [[c, −s], [s, c]]` at positions `k, k+1`:
/// `T ← Gᵀ T G`, `Q ← Q G`.
fn rotate(t: &mut DMatrix<f64>, q: &mut DMatrix<f64>, k: usize, c: f64, s: f64) {
    let n = t.nrows();
    for j in 0..n {
        let (x, y) = (t[(k, j)], t[(k + 1, j)]);
        t[(k, j)] = c * x + s * y;
        t[(k + 1, j)] = c * y - s * x;
    }
    for m in [&mut *t, &mut *q] {
        for i in 0..n {
            let (x, y) = (m[(i, k)], m[(i, k + 1)]);
            m[(i, k)] = c * x + s * y;
            m[(i, k + 1)] = c * y - s * x;
        }
    }
}

/// Swap the adjacent diagonal blocks at `k` (size `p`) and `k + p` (size `q`).
fn swap_blocks(
    t: &mut DMatrix<f64>,
    qm: &mut DMatrix<f64>,
    k: usize,
    p: usize,
    q: usize,
) -> Result<()> {
    let n = t.nrows();
    if p == 1 && q == 1 {
        // LAPACK dlaexc, n1 = n2 = 1: the rotation whose first column is the
        // eigenvector (t12, t22 − t11) of the eigenvalue t22.
        let (t11, t12, t22) = (t[(k, k)], t[(k, k + 1)], t[(k + 1, k + 1)]);
        let (f, g) = (t12, t22 - t11);
        let r = f.hypot(g);
        let (c, s) = if r == 0.0 { (1.0, 0.0) } else { (f / r, g / r) };
        rotate(t, qm, k, c, s);
        t[(k, k)] = t22;
        t[(k + 1, k + 1)] = t11;
        t[(k + 1, k)] = 0.0;
        return Ok(());
    }
    let m = p + q;
    let local = t.view((k, k), (m, m)).clone_owned();
    let dnorm = local.amax();
    // Solve A11 X − X A22 = A12 (p × q) via its Kronecker form (pq ≤ 4 unknowns).
    let a11 = local.view((0, 0), (p, p));
    let a12 = local.view((0, p), (p, q));
    let a22 = local.view((p, p), (q, q));
    let kron = DMatrix::from_fn(p * q, p * q, |r, c| {
        let (i, j) = (r % p, r / p);
        let (i2, j2) = (c % p, c / p);
        let mut v = 0.0;
        if j == j2 {
            v += a11[(i, i2)];
        }
        if i == i2 {
            v -= a22[(j2, j)];
        }
        v
    });
    let rhs = nalgebra::DVector::from_fn(p * q, |r, _| a12[(r % p, r / p)]);
    let x = kron
        .full_piv_lu()
        .solve(&rhs)
        .ok_or_else(|| AnalysisError::Numerical {
            what: "Schur reordering",
            reason: format!(
                "blocks at {k} and {} share an eigenvalue; cannot swap",
                k + p
            ),
        })?;
    // Orthonormal basis whose first q columns span [−X; I_q] (the invariant
    // subspace of the second block), completed with unit vectors.
    let mut cols: Vec<nalgebra::DVector<f64>> = Vec::with_capacity(m);
    let candidates = (0..q)
        .map(|j| {
            nalgebra::DVector::from_fn(m, |r, _| {
                if r < p {
                    -x[r + j * p]
                } else if r - p == j {
                    1.0
                } else {
                    0.0
                }
            })
        })
        .chain(
            (0..m).map(|e| nalgebra::DVector::from_fn(m, |r, _| if r == e { 1.0 } else { 0.0 })),
        );
    for v in candidates {
        if cols.len() == m {
            break;
        }
        let mut v = v;
        let norm0 = v.norm();
        for _ in 0..2 {
            for u in &cols {
                let d = u.dot(&v);
                v.axpy(-d, u, 1.0);
            }
        }
        let norm = v.norm();
        if norm > 0.1 * norm0 {
            cols.push(v / norm);
        }
    }
    let u = DMatrix::from_columns(&cols);
    // Apply the similarity to the parts of T that are not structurally zero.
    let rows = t.view((k, k), (m, n - k)).clone_owned();
    t.view_mut((k, k), (m, n - k))
        .copy_from(&(u.transpose() * rows));
    let cols_t = t.view((0, k), (k + m, m)).clone_owned();
    t.view_mut((0, k), (k + m, m)).copy_from(&(cols_t * &u));
    let cols_q = qm.view((0, k), (n, m)).clone_owned();
    qm.view_mut((0, k), (n, m)).copy_from(&(cols_q * &u));
    // The block below the new first block (size q) must vanish.
    let resid = t.view((k + q, k), (p, q)).amax();
    if resid > 100.0 * f64::EPSILON * dnorm.max(f64::MIN_POSITIVE) {
        return Err(AnalysisError::Numerical {
            what: "Schur reordering",
            reason: format!(
                "swap of blocks at {k} and {} rejected (residual {resid:e}): eigenvalues too close",
                k + p
            ),
        });
    }
    // This also clears the subdiagonal entry between the two new blocks.
    t.view_mut((k + q, k), (p, q)).fill(0.0);
    // New 2×2 blocks: keep them genuine complex pairs.
    if q == 2 {
        split_if_real(t, qm, k);
    }
    if p == 2 {
        split_if_real(t, qm, k + q);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    fn random(n: usize, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let normal = Normal::new(0.0, (1.0 / n as f64).sqrt()).unwrap();
        Array2::from_shape_fn((n, n), |_| normal.sample(&mut rng))
    }

    fn max_abs(a: &Array2<f64>) -> f64 {
        a.iter().fold(0.0, |m, v| m.max(v.abs()))
    }

    fn random_orthogonal(n: usize, seed: u64) -> Array2<f64> {
        let a = random(n, seed);
        let qr = DMatrix::from_fn(n, n, |i, j| a[[i, j]]).qr();
        let q = qr.q();
        Array2::from_shape_fn((n, n), |(i, j)| q[(i, j)])
    }

    /// Q orthogonal, Q T Qᵀ = A, T quasi-triangular with genuine complex 2×2 blocks.
    fn check_decomposition(s: &RealSchur, a: &Array2<f64>, tol: f64) {
        let n = a.nrows();
        assert!(
            max_abs(&(s.reconstruct() - a)) < tol,
            "reconstruction {}",
            max_abs(&(s.reconstruct() - a))
        );
        let qtq = s.q.t().dot(&s.q) - Array2::<f64>::eye(n);
        assert!(max_abs(&qtq) < tol, "orthogonality {}", max_abs(&qtq));
        for i in 0..n {
            for j in 0..i.saturating_sub(1) {
                assert_eq!(s.t[[i, j]], 0.0, "below subdiagonal at {i},{j}");
            }
        }
        for i in 0..n.saturating_sub(2) {
            assert!(
                s.t[[i + 1, i]] == 0.0 || s.t[[i + 2, i + 1]] == 0.0,
                "adjacent subdiagonals at {i}"
            );
        }
        for (start, size) in s.blocks() {
            if size == 2 {
                let (a, b, c, d) = (
                    s.t[[start, start]],
                    s.t[[start, start + 1]],
                    s.t[[start + 1, start]],
                    s.t[[start + 1, start + 1]],
                );
                assert!(
                    block_eig(a, b, c, d).is_some(),
                    "2x2 block at {start} has real eigenvalues"
                );
                assert!(s.eigenvalues[start].1 > 0.0 && s.eigenvalues[start + 1].1 < 0.0);
            } else {
                assert_eq!(s.eigenvalues[start], (s.t[[start, start]], 0.0));
            }
        }
        assert_eq!(s.eigenvalues.len(), n);
    }

    #[test]
    fn random_500_reconstructs() {
        let a = random(500, 42);
        let s = real_schur(a.view()).unwrap();
        check_decomposition(&s, &a, 1e-10);
        assert!(s.blocks().iter().any(|&(_, size)| size == 2));
        // Trace = sum of eigenvalues; the imaginary parts cancel.
        let tr: f64 = s.eigenvalues.iter().map(|e| e.0).sum();
        assert_abs_diff_eq!(tr, a.diag().sum(), epsilon = 1e-10);
        assert_abs_diff_eq!(
            s.eigenvalues.iter().map(|e| e.1).sum::<f64>(),
            0.0,
            epsilon = 1e-12
        );
    }

    #[test]
    fn reorder_by_magnitude_and_real_part() {
        let a = random(200, 5);
        let s = real_schur(a.view()).unwrap();
        for order in [ModeOrder::Magnitude, ModeOrder::RealPart] {
            let r = reorder_schur(&s, order).unwrap();
            check_decomposition(&r, &a, 1e-10);
            let keys: Vec<f64> = r
                .blocks()
                .iter()
                .map(|&(st, _)| order.key(r.eigenvalues[st]))
                .collect();
            assert!(
                keys.windows(2).all(|w| w[0] >= w[1] - 1e-10),
                "{order:?} not sorted"
            );
            // Same spectrum (as a multiset), up to rounding.
            let sorted = |v: &[(f64, f64)]| {
                let mut v = v.to_vec();
                v.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
                v
            };
            for (x, y) in sorted(&s.eigenvalues)
                .iter()
                .zip(sorted(&r.eigenvalues).iter())
            {
                assert_abs_diff_eq!(x.0, y.0, epsilon = 1e-9);
                assert_abs_diff_eq!(x.1, y.1, epsilon = 1e-9);
            }
        }
        let same = reorder_schur(&s, ModeOrder::AsComputed).unwrap();
        assert_eq!(same, s);
    }

    #[test]
    fn normal_matrices_give_block_diagonal_t() {
        let n = 120;
        let o = random_orthogonal(n, 9);
        let a = random(n, 10);
        let sym = &a + &a.t();
        for m in [o, sym.clone()] {
            let s = real_schur(m.view()).unwrap();
            check_decomposition(&s, &m, 1e-10);
            assert!(
                max_abs(&interaction_matrix(&s)) < 1e-8,
                "off-block {}",
                max_abs(&interaction_matrix(&s))
            );
            let modes = schur_modes(&s, 3.0, 0.1).unwrap();
            assert!(modes.feedforward_fraction < 1e-7);
            assert!(
                modes.nonnormal_fraction < 1e-6,
                "{}",
                modes.nonnormal_fraction
            );
        }
        // The symmetric matrix has only real eigenvalues: T is diagonal.
        let s = real_schur(sym.view()).unwrap();
        assert!(s.blocks().iter().all(|&(_, size)| size == 1));
        // The orthogonal matrix has |λ| = 1.
        let s = real_schur(random_orthogonal(n, 9).view()).unwrap();
        for m in describe_modes(&s) {
            assert_abs_diff_eq!(m.magnitude, 1.0, epsilon = 1e-10);
        }
    }

    #[test]
    fn small_known_matrices() {
        // Rotation-scaling: λ = 0.8·e^{±0.5i}.
        let (r, th) = (0.8f64, 0.5f64);
        let a = array![[r * th.cos(), -r * th.sin()], [r * th.sin(), r * th.cos()]];
        let s = real_schur(a.view()).unwrap();
        check_decomposition(&s, &a, 1e-14);
        let m = describe_modes(&s);
        assert_abs_diff_eq!(m[0].magnitude, r, epsilon = 1e-14);
        assert_abs_diff_eq!(m[0].frequency, th, epsilon = 1e-14);
        assert_abs_diff_eq!(m[1].frequency, th, epsilon = 1e-14);

        // Trace and determinant of assorted small matrices.
        let mats = [
            array![[2.0, 1.0], [1.0, 3.0]],
            array![[0.0, -1.0], [1.0, 0.0]],
            array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 10.0]],
            array![[0.5, -2.0, 0.1], [1.5, 0.2, 0.0], [0.3, 0.0, -0.7]],
            array![
                [1.0, 2.0, 0.0, 0.0],
                [-3.0, 1.0, 0.5, 0.0],
                [0.0, 0.2, -1.0, 4.0],
                [0.1, 0.0, -2.0, 0.3]
            ],
        ];
        for a in mats {
            let s = real_schur(a.view()).unwrap();
            check_decomposition(&s, &a, 1e-12);
            let tr: f64 = s.eigenvalues.iter().map(|e| e.0).sum();
            assert_abs_diff_eq!(tr, a.diag().sum(), epsilon = 1e-12);
            // Product of complex eigenvalues.
            let det = s
                .eigenvalues
                .iter()
                .fold((1.0, 0.0), |(pr, pi), &(re, im)| {
                    (pr * re - pi * im, pr * im + pi * re)
                });
            let dm = DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]]);
            assert_abs_diff_eq!(det.0, dm.determinant(), epsilon = 1e-10);
            assert_abs_diff_eq!(det.1, 0.0, epsilon = 1e-10);
        }
        // 1×1 and diagonal matrices.
        let s = real_schur(array![[-2.5]].view()).unwrap();
        assert_eq!(s.eigenvalues, vec![(-2.5, 0.0)]);
        assert_abs_diff_eq!(describe_modes(&s)[0].frequency, std::f64::consts::PI);
        let s = real_schur(Array2::<f64>::zeros((4, 4)).view()).unwrap();
        assert!(s.eigenvalues.iter().all(|&e| e == (0.0, 0.0)));
        assert!(
            schur_modes(&s, 1.0, 1.0)
                .unwrap()
                .feedforward_fraction
                .is_nan()
        );
    }

    #[test]
    fn feedforward_chain_is_all_upper() {
        // Chain 0 → 1 → … → 9 in the [pre, post] convention: W[i, i+1] = 0.9.
        let n = 10;
        let w = Array2::from_shape_fn((n, n), |(i, j)| if j == i + 1 { 0.9 } else { 0.0 });
        let s = real_schur(w.view()).unwrap();
        check_decomposition(&s, &w, 1e-14);
        let m = schur_modes(&s, 2.0, 0.1).unwrap();
        assert_abs_diff_eq!(m.feedforward_fraction, 1.0, epsilon = 1e-12);
        assert_abs_diff_eq!(m.nonnormal_fraction, 1.0, epsilon = 1e-12);
        assert_abs_diff_eq!(m.diagonal_norm, 0.0, epsilon = 1e-12);
        assert_abs_diff_eq!(
            m.feedforward_norm,
            0.9 * ((n - 1) as f64).sqrt(),
            epsilon = 1e-12
        );
        assert_eq!(m.significant_interactions.len(), n - 1);
        assert_eq!(m.n_significant_modes, n);
        assert!(m.modes.iter().all(|x| x.magnitude < 1e-12));

        // The same chain in a random orthonormal basis: still (almost) all upper.
        let n = 6;
        let w = Array2::from_shape_fn((n, n), |(i, j)| if j == i + 1 { 0.9 } else { 0.0 });
        let r = random_orthogonal(n, 11);
        let wr = r.dot(&w).dot(&r.t());
        let s = real_schur(wr.view()).unwrap();
        check_decomposition(&s, &wr, 1e-12);
        let m = schur_modes(&s, 2.0, 0.1).unwrap();
        // The computed eigenvalues of a perturbed Jordan block are ~ε^(1/n) and
        // may pair into 2×2 blocks that carry part of the chain, so the
        // block-aware fraction can drop; Henrici's measure is order- and
        // block-free.
        assert!(m.nonnormal_fraction > 0.999, "{}", m.nonnormal_fraction);
        assert!(m.modes.iter().all(|x| x.magnitude < 1e-2));
        assert_abs_diff_eq!(m.total_norm, 0.9 * ((n - 1) as f64).sqrt(), epsilon = 1e-10);
    }

    #[test]
    fn significance_threshold() {
        // Hand-built quasi-triangular T: modes 0 (real), 1–2 (complex pair), 3 (real).
        let t = array![
            [0.5, 0.0, 0.05, 2.0],
            [0.0, 0.3, 0.4, 0.01],
            [0.0, -0.4, 0.3, 0.0],
            [0.0, 0.0, 0.0, -0.2]
        ];
        let s = pack(
            &DMatrix::identity(4, 4),
            &DMatrix::from_fn(4, 4, |i, j| t[[i, j]]),
        );
        assert_eq!(s.blocks(), vec![(0, 1), (1, 2), (3, 1)]);
        assert_eq!(s.block_index(), vec![0, 1, 1, 2]);
        let u = interaction_matrix(&s);
        // The within-block entries (1, 2) and (2, 1) are excluded.
        assert_eq!(
            u,
            array![
                [0.0, 0.0, 0.05, 2.0],
                [0.0, 0.0, 0.0, 0.01],
                [0.0, 0.0, 0.0, 0.0],
                [0.0; 4]
            ]
        );
        let m = schur_modes(&s, 2.0, 0.02).unwrap();
        assert_eq!(m.threshold, 0.04);
        assert_eq!(m.significant_interactions, vec![(0, 2), (0, 3)]);
        assert_eq!(m.significant, vec![true, false, true, true]);
        assert_eq!(m.n_significant_modes, 3);
        // sd over the 5 interaction entries (0,1)=0, (0,2), (0,3), (1,3), (2,3)=0.
        let vals = [0.0, 0.05, 2.0, 0.01, 0.0];
        let mean = vals.iter().sum::<f64>() / 5.0;
        let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 5.0).sqrt();
        assert_abs_diff_eq!(interaction_sd(&s).unwrap(), sd, epsilon = 1e-15);
        assert_abs_diff_eq!(
            m.feedforward_norm.powi(2) + m.diagonal_norm.powi(2),
            m.total_norm.powi(2),
            epsilon = 1e-14
        );
        let modes = describe_modes(&s);
        assert_abs_diff_eq!(modes[1].magnitude, (0.09f64 + 0.16).sqrt(), epsilon = 1e-15);
        assert_abs_diff_eq!(modes[1].frequency, 0.4f64.atan2(0.3), epsilon = 1e-15);
        assert_eq!(modes[2].block_size, 2);
    }

    #[test]
    fn reference_sd_of_untrained_matrix() {
        // Untrained Orhan & Ma init: λ0·I + off-diagonal noise. Its interaction sd
        // is positive, and a trained-like matrix with a strong chain stands out.
        let n = 80;
        let noise = random(n, 21) * 0.3;
        let init = Array2::from_shape_fn((n, n), |(i, j)| if i == j { 0.9 } else { noise[[i, j]] });
        let sd = reference_interaction_sd(init.view(), ModeOrder::Magnitude).unwrap();
        assert!(sd > 0.0 && sd.is_finite());
        let chain = Array2::from_shape_fn((n, n), |(i, j)| if j == i + 1 { 1.0 } else { 0.0 });
        let trained = &init + &chain;
        let s = reorder_schur(&real_schur(trained.view()).unwrap(), ModeOrder::Magnitude).unwrap();
        let m = schur_modes(&s, 3.0, sd).unwrap();
        let m0 = schur_modes(
            &reorder_schur(&real_schur(init.view()).unwrap(), ModeOrder::Magnitude).unwrap(),
            3.0,
            sd,
        )
        .unwrap();
        assert!(m.feedforward_fraction > m0.feedforward_fraction);
        assert!(m.significant_interactions.len() > m0.significant_interactions.len());
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            real_schur(Array2::zeros((2, 3)).view()),
            Err(AnalysisError::ShapeMismatch { .. })
        ));
        assert!(matches!(
            real_schur(Array2::zeros((0, 0)).view()),
            Err(AnalysisError::TooFew { .. })
        ));
        assert!(matches!(
            real_schur(array![[1.0, f64::NAN], [0.0, 1.0]].view()),
            Err(AnalysisError::NonFinite { .. })
        ));
        let a = array![[1.0, 2.0], [3.0, 4.0]];
        assert!(matches!(
            real_schur_with(a.view(), 0.0, 10),
            Err(AnalysisError::InvalidParameter { .. })
        ));
        assert!(matches!(
            real_schur_with(a.view(), 1e-15, 0),
            Err(AnalysisError::InvalidParameter { .. })
        ));
        let s = real_schur(a.view()).unwrap();
        assert!(schur_modes(&s, -1.0, 1.0).is_err());
        assert!(schur_modes(&s, 1.0, f64::NAN).is_err());
        assert!(interaction_sd(&real_schur(array![[1.0]].view()).unwrap()).is_err());
    }

    #[test]
    fn near_identity_converges() {
        // λ0·I + tiny noise (the untrained init with a small σ): the mean-diagonal
        // shift lets the QR iteration deflate (without it such matrices stalled).
        let n = 150;
        let noise = random(n, 4);
        let a = Array2::from_shape_fn(
            (n, n),
            |(i, j)| if i == j { 1.0 } else { 1e-9 * noise[[i, j]] },
        );
        let s = real_schur(a.view()).unwrap();
        check_decomposition(&s, &a, 1e-12);
        let r = reorder_schur(&s, ModeOrder::Magnitude).unwrap();
        check_decomposition(&r, &a, 1e-12);
    }

    #[test]
    fn iteration_limit_never_hangs() {
        // A cyclic permutation is a classic stall case for Francis QR without
        // exceptional shifts: the call must return (Ok or a Numerical error).
        let n = 16;
        let p = Array2::from_shape_fn((n, n), |(i, j)| if j == (i + 1) % n { 1.0 } else { 0.0 });
        match real_schur_with(p.view(), f64::EPSILON, 2000) {
            Ok(s) => check_decomposition(&s, &p, 1e-10),
            Err(e) => assert!(matches!(e, AnalysisError::Numerical { .. })),
        }
        assert!(matches!(
            real_schur_with(random(50, 1).view(), f64::EPSILON, 1),
            Err(AnalysisError::Numerical { .. })
        ));
    }
}
