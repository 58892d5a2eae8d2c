//! A Levenberg–Marquardt least-squares solver for argmin.
//!
//! argmin 0.11 ships Gauss–Newton but no Levenberg–Marquardt (LM), so this
//! module adds one, written the argmin way: the algorithm is a
//! [`Solver`] ([`LevenbergMarquardt`]), the model is the user's type
//! implementing [`Operator`] (residuals r(x) ∈ ℝᵐ) and [`Jacobian`]
//! (J(x) = ∂r/∂x ∈ ℝ^{m×n}) on nalgebra [`DVector<f64>`]/[`DMatrix<f64>`],
//! and the iterate lives in argmin's [`IterState`] ([`LmState`]): parameters,
//! residuals, Jacobian, gradient Jᵀr and cost. Only the damping parameter λ,
//! its growth factor and a few work buffers stay in the solver, as argmin's
//! trust-region solvers keep their radius.
//!
//! The method is damped Gauss–Newton (Nielsen's variant of Marquardt's
//! update): each iteration solves `(JᵀJ + λ D) δ = −Jᵀr` by Cholesky, tries
//! `x + δ`, and accepts it only if it lowers the cost; λ shrinks after a good
//! step (by `max(1/3, 1 − (2ρ − 1)³)`, ρ = actual / predicted reduction) and
//! grows (×2, ×4, ×8, …) after each rejected one. `D` is the running maximum
//! of diag(JᵀJ) (Marquardt scaling, which makes the method invariant to
//! rescaling parameters) or the identity (plain Levenberg damping).
//!
//! **Cost convention:** the cost is `½‖r‖²` everywhere in this module
//! ([`LmState`]'s cost, [`LmReport::cost`]); [`LmReport::rss`] is `‖r‖²`.
//!
//! One argmin iteration is one Jacobian evaluation plus as many residual
//! evaluations as λ adjustments needed; it ends with an accepted step or with
//! termination. Termination (checked after each iteration, see
//! [`LmTermination`]): zero residuals; relative cost change (actual and
//! predicted reduction both ≤ `ftol`·cost); step size
//! (‖δ‖ ≤ `xtol`·(‖x‖ + `xtol`)); gradient (the largest cosine between r and a
//! column of J ≤ `gtol`, MINPACK's scale-free test); or `max_iters`.
//!
//! For a one-call fit use [`least_squares`], which runs argmin's [`Executor`].

use argmin::core::{
    Error, Executor, IterState, Jacobian, KV, Operator, Problem, Solver, State, TerminationReason,
    TerminationStatus,
};
use nalgebra::{DMatrix, DVector};
use serde::Serialize;

use crate::error::{AnalysisError, Result, ensure_at_least, ensure_finite};

/// argmin state used by [`LevenbergMarquardt`]: parameters `DVector` (n),
/// gradient `Jᵀr` `DVector` (n), Jacobian `DMatrix` (m × n), no Hessian,
/// residuals `DVector` (m), cost `f64` (= ½‖r‖²).
pub type LmState = IterState<DVector<f64>, DVector<f64>, DMatrix<f64>, (), DVector<f64>, f64>;

/// λ beyond which no step is tried any more ([`LmTermination::NoFurtherReduction`]).
const LAMBDA_MAX: f64 = 1e32;
/// Safety cap on λ adjustments within one iteration.
const MAX_TRIALS_PER_ITER: usize = 100;

/// Options of the Levenberg–Marquardt solver. The defaults are tight enough
/// that a well-posed small problem is solved to near machine precision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LmOptions {
    /// Maximum number of iterations (Jacobian evaluations / accepted steps), ≥ 1.
    /// Default 200.
    pub max_iters: u64,
    /// Relative cost-change tolerance (≥ 0): stop when an accepted step's
    /// actual and predicted reductions of ½‖r‖² are both ≤ `ftol` × cost.
    /// Default 1e-12.
    pub ftol: f64,
    /// Step tolerance (≥ 0): stop when ‖δ‖ ≤ `xtol` × (‖x‖ + `xtol`).
    /// Default 1e-12.
    pub xtol: f64,
    /// Gradient tolerance (≥ 0): stop when max_j |J_jᵀ r| / (‖J_j‖ ‖r‖) ≤ `gtol`
    /// (cosine between the residuals and each Jacobian column). Default 1e-12.
    pub gtol: f64,
    /// Initial damping (> 0): λ₀ = `initial_lambda` with Marquardt scaling,
    /// `initial_lambda` × max diag(JᵀJ) without. Default 1e-3.
    pub initial_lambda: f64,
    /// Damp with the running maximum of diag(JᵀJ) (Marquardt, `true`, default)
    /// or with the identity (Levenberg, `false`).
    pub scale_diagonal: bool,
}

impl Default for LmOptions {
    fn default() -> Self {
        Self {
            max_iters: 200,
            ftol: 1e-12,
            xtol: 1e-12,
            gtol: 1e-12,
            initial_lambda: 1e-3,
            scale_diagonal: true,
        }
    }
}

impl LmOptions {
    /// Check that every option is in its allowed range.
    pub fn validate(&self) -> Result<()> {
        if self.max_iters < 1 {
            return Err(AnalysisError::invalid("max_iters", self.max_iters, ">= 1"));
        }
        for (name, v) in [
            ("ftol", self.ftol),
            ("xtol", self.xtol),
            ("gtol", self.gtol),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(AnalysisError::invalid(name, v, "finite and >= 0"));
            }
        }
        if !(self.initial_lambda.is_finite() && self.initial_lambda > 0.0) {
            return Err(AnalysisError::invalid(
                "initial_lambda",
                self.initial_lambda,
                "finite and > 0",
            ));
        }
        Ok(())
    }
}

/// Why the solver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LmTermination {
    /// The residuals are exactly zero (converged).
    ZeroResidual,
    /// Actual and predicted relative reductions of the cost ≤ `ftol` (converged).
    RelativeCostChange,
    /// ‖δ‖ ≤ `xtol` (‖x‖ + `xtol`) (converged).
    StepSize,
    /// Residuals orthogonal to the Jacobian columns within `gtol` (converged).
    Gradient,
    /// `max_iters` iterations were done without meeting a tolerance.
    MaxIterations,
    /// No step lowered the cost even with λ at its ceiling (1e32), while the
    /// steps stayed above `xtol`: the tolerances are below what floating point
    /// can resolve, or the problem is badly scaled (not counted as converged).
    NoFurtherReduction,
    /// The Jacobian at an accepted point held NaN or ±∞ (not converged).
    NonFiniteJacobian,
}

impl LmTermination {
    /// Whether this termination means a tolerance was met.
    pub fn converged(self) -> bool {
        matches!(
            self,
            Self::ZeroResidual | Self::RelativeCostChange | Self::StepSize | Self::Gradient
        )
    }
}

/// The Levenberg–Marquardt algorithm as an argmin [`Solver`] on [`LmState`].
///
/// Needs an initial parameter vector (`Executor::configure(|s| s.param(x0))`).
/// Works for any problem implementing [`Operator`] (`Param = Output =
/// DVector<f64>`) and [`Jacobian`] (`Jacobian = DMatrix<f64>`, m × n). After a
/// run, [`LevenbergMarquardt::termination`] tells why it stopped.
#[derive(Debug, Clone)]
pub struct LevenbergMarquardt {
    opts: LmOptions,
    /// Current damping λ (NaN until the first iteration sets it).
    lambda: f64,
    /// Growth factor for λ after a rejected step.
    nu: f64,
    /// Damping scale D (length n).
    diag: DVector<f64>,
    /// JᵀJ at the current point (n × n work buffer).
    jtj: DMatrix<f64>,
    /// JᵀJ + λD and its Cholesky factor (n × n work buffer).
    work: DMatrix<f64>,
    /// Step δ (length n work buffer).
    step: DVector<f64>,
    termination: Option<LmTermination>,
}

impl LevenbergMarquardt {
    /// A solver with the given options (not validated here; [`least_squares`]
    /// validates them, and invalid tolerances only change when it stops).
    pub fn new(opts: LmOptions) -> Self {
        Self {
            opts,
            lambda: f64::NAN,
            nu: 2.0,
            diag: DVector::zeros(0),
            jtj: DMatrix::zeros(0, 0),
            work: DMatrix::zeros(0, 0),
            step: DVector::zeros(0),
            termination: None,
        }
    }

    /// The options in use.
    pub fn options(&self) -> &LmOptions {
        &self.opts
    }

    /// Why the solver stopped, if it stopped on its own criteria (`None` while
    /// running, or when argmin stopped it, e.g. at `max_iters`).
    pub fn termination(&self) -> Option<LmTermination> {
        self.termination
    }

    fn reset(&mut self, n: usize) {
        self.lambda = f64::NAN;
        self.nu = 2.0;
        self.diag = DVector::zeros(n);
        self.jtj = DMatrix::zeros(n, n);
        self.work = DMatrix::zeros(n, n);
        self.step = DVector::zeros(n);
        self.termination = None;
    }
}

/// Largest |cosine| between `r` and a column of `j` (columns of norm 0 skipped);
/// 0 when `r` is zero.
fn gradient_cosine(j: &DMatrix<f64>, g: &DVector<f64>, r_norm: f64) -> f64 {
    if r_norm == 0.0 {
        return 0.0;
    }
    let mut worst = 0.0f64;
    for (k, col) in j.column_iter().enumerate() {
        let c = col.norm();
        if c > 0.0 {
            worst = worst.max((g[k] / (c * r_norm)).abs());
        }
    }
    worst
}

/// Solve `a x = b` in place for symmetric positive-definite `a` (only the
/// lower triangle is read; it is overwritten by the Cholesky factor L).
/// Returns `false` if `a` is not numerically positive definite.
fn cholesky_solve_in_place(a: &mut DMatrix<f64>, b: &mut DVector<f64>) -> bool {
    let n = a.nrows();
    for k in 0..n {
        let mut d = a[(k, k)];
        for p in 0..k {
            d -= a[(k, p)] * a[(k, p)];
        }
        if !(d > 0.0 && d.is_finite()) {
            return false;
        }
        let d = d.sqrt();
        a[(k, k)] = d;
        for i in k + 1..n {
            let mut s = a[(i, k)];
            for p in 0..k {
                s -= a[(i, p)] * a[(k, p)];
            }
            a[(i, k)] = s / d;
        }
    }
    // L y = b
    for i in 0..n {
        let mut s = b[i];
        for p in 0..i {
            s -= a[(i, p)] * b[p];
        }
        b[i] = s / a[(i, i)];
    }
    // Lᵀ x = y
    for i in (0..n).rev() {
        let mut s = b[i];
        for p in i + 1..n {
            s -= a[(p, i)] * b[p];
        }
        b[i] = s / a[(i, i)];
    }
    b.iter().all(|v| v.is_finite())
}

fn check_jacobian(j: &DMatrix<f64>, m: usize, n: usize) -> Result<(), Error> {
    if j.nrows() != m || j.ncols() != n {
        return Err(AnalysisError::shape(
            "jacobian",
            format!("{m} x {n} (residuals x parameters)"),
            format!("{} x {}", j.nrows(), j.ncols()),
        )
        .into());
    }
    Ok(())
}

fn check_residuals(r: &DVector<f64>, m: usize) -> Result<(), Error> {
    if r.len() != m {
        return Err(AnalysisError::shape(
            "residuals",
            format!("length {m} (as at the initial parameters)"),
            format!("length {}", r.len()),
        )
        .into());
    }
    Ok(())
}

impl<O> Solver<O, LmState> for LevenbergMarquardt
where
    O: Operator<Param = DVector<f64>, Output = DVector<f64>>
        + Jacobian<Param = DVector<f64>, Jacobian = DMatrix<f64>>,
{
    fn name(&self) -> &str {
        "Levenberg-Marquardt"
    }

    fn init(
        &mut self,
        problem: &mut Problem<O>,
        mut state: LmState,
    ) -> Result<(LmState, Option<KV>), Error> {
        let x = state.take_param().ok_or_else(|| {
            Error::from(AnalysisError::invalid(
                "init",
                "none",
                "an initial parameter vector (Executor::configure(|s| s.param(x0)))",
            ))
        })?;
        let n = x.len();
        ensure_at_least("parameters", 1, n)?;
        ensure_finite("initial parameters", x.iter())?;
        let r = problem.apply(&x)?;
        ensure_at_least("residuals", 1, r.len())?;
        ensure_finite("residuals at the initial parameters", r.iter())?;
        let m = r.len();
        let j = problem.jacobian(&x)?;
        check_jacobian(&j, m, n)?;
        ensure_finite("jacobian at the initial parameters", j.iter())?;
        self.reset(n);
        let g = j.tr_mul(&r);
        let r_norm = r.norm();
        let cost = 0.5 * r_norm * r_norm;
        if cost == 0.0 {
            self.termination = Some(LmTermination::ZeroResidual);
        } else if gradient_cosine(&j, &g, r_norm) <= self.opts.gtol {
            self.termination = Some(LmTermination::Gradient);
        }
        Ok((
            state
                .param(x)
                .residuals(r)
                .jacobian(j)
                .gradient(g)
                .cost(cost),
            None,
        ))
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<O>,
        state: LmState,
    ) -> Result<(LmState, Option<KV>), Error> {
        let missing = |what: &str| {
            Error::from(AnalysisError::Numerical {
                what: "Levenberg-Marquardt",
                reason: format!("state has no {what}; was init run?"),
            })
        };
        let x = state.get_param().ok_or_else(|| missing("parameters"))?;
        let j = state.get_jacobian().ok_or_else(|| missing("jacobian"))?;
        let g = state.get_gradient().ok_or_else(|| missing("gradient"))?;
        let m = state
            .get_residuals()
            .ok_or_else(|| missing("residuals"))?
            .len();
        let n = x.len();
        if self.diag.len() != n {
            self.reset(n);
        }
        let cost = state.get_cost();

        j.tr_mul_to(j, &mut self.jtj);
        for k in 0..n {
            let d = self.jtj[(k, k)];
            self.diag[k] = if self.opts.scale_diagonal {
                self.diag[k].max(d)
            } else {
                1.0
            };
        }
        if !self.lambda.is_finite() {
            let scale = if self.opts.scale_diagonal {
                1.0
            } else {
                self.jtj.diagonal().max().max(f64::MIN_POSITIVE)
            };
            self.lambda = self.opts.initial_lambda * scale;
        }
        let x_norm = x.norm();

        for _ in 0..MAX_TRIALS_PER_ITER {
            // (JᵀJ + λD) δ = −g
            self.work.copy_from(&self.jtj);
            for k in 0..n {
                // A zero scale (a column that has been zero so far) damps with 1.
                let d = if self.diag[k] > 0.0 {
                    self.diag[k]
                } else {
                    1.0
                };
                self.work[(k, k)] += self.lambda * d;
            }
            self.step.copy_from(g);
            self.step.neg_mut();
            if !cholesky_solve_in_place(&mut self.work, &mut self.step) {
                self.lambda *= self.nu;
                self.nu *= 2.0;
                if self.lambda > LAMBDA_MAX {
                    self.termination = Some(LmTermination::NoFurtherReduction);
                    return Ok((state, None));
                }
                continue;
            }
            let step_norm = self.step.norm();
            let small_step = step_norm <= self.opts.xtol * (x_norm + self.opts.xtol);
            // Predicted reduction of ½‖r‖²: ½ δᵀ(λDδ − g).
            let mut predicted = 0.0;
            for k in 0..n {
                let d = if self.diag[k] > 0.0 {
                    self.diag[k]
                } else {
                    1.0
                };
                predicted += 0.5 * self.step[k] * (self.lambda * d * self.step[k] - g[k]);
            }
            let x_new = x + &self.step;
            let r_new = problem.apply(&x_new)?;
            check_residuals(&r_new, m)?;
            let r_new_norm = r_new.norm();
            let cost_new = 0.5 * r_new_norm * r_new_norm;

            if cost_new.is_finite() && cost_new < cost {
                let actual = cost - cost_new;
                let rho = actual / predicted;
                let shrink = 1.0 - (2.0 * rho - 1.0).powi(3);
                self.lambda *= if rho.is_finite() {
                    shrink.max(1.0 / 3.0)
                } else {
                    1.0 / 3.0
                };
                self.lambda = self.lambda.max(f64::MIN_POSITIVE);
                self.nu = 2.0;
                let j_new = problem.jacobian(&x_new)?;
                check_jacobian(&j_new, m, n)?;
                let g_new = j_new.tr_mul(&r_new);
                self.termination = if !j_new.iter().all(|v| v.is_finite()) {
                    Some(LmTermination::NonFiniteJacobian)
                } else if cost_new == 0.0 {
                    Some(LmTermination::ZeroResidual)
                } else if actual <= self.opts.ftol * cost && predicted <= self.opts.ftol * cost {
                    Some(LmTermination::RelativeCostChange)
                } else if small_step {
                    Some(LmTermination::StepSize)
                } else if gradient_cosine(&j_new, &g_new, r_new_norm) <= self.opts.gtol {
                    Some(LmTermination::Gradient)
                } else {
                    None
                };
                let state = state
                    .param(x_new)
                    .residuals(r_new)
                    .jacobian(j_new)
                    .gradient(g_new)
                    .cost(cost_new);
                return Ok((state, None));
            }
            // Rejected: the cost did not go down.
            if small_step {
                self.termination = Some(LmTermination::StepSize);
                return Ok((state, None));
            }
            self.lambda *= self.nu;
            self.nu *= 2.0;
            if self.lambda > LAMBDA_MAX {
                self.termination = Some(LmTermination::NoFurtherReduction);
                return Ok((state, None));
            }
        }
        self.termination = Some(LmTermination::NoFurtherReduction);
        Ok((state, None))
    }

    fn terminate(&mut self, _state: &LmState) -> TerminationStatus {
        match self.termination {
            None => TerminationStatus::NotTerminated,
            Some(t) if t.converged() => {
                TerminationStatus::Terminated(TerminationReason::SolverConverged)
            }
            Some(t) => {
                TerminationStatus::Terminated(TerminationReason::SolverExit(format!("{t:?}")))
            }
        }
    }
}

/// Result of [`least_squares`].
#[derive(Debug, Clone, Serialize)]
pub struct LmReport {
    /// Parameters at the end (the best point found; length n).
    pub params: Vec<f64>,
    /// Cost ½‖r‖² at `params`.
    pub cost: f64,
    /// Residual sum of squares ‖r‖² at `params` (= 2 × `cost`).
    pub rss: f64,
    /// Residuals r at `params` (length m).
    pub residuals: Vec<f64>,
    /// Number of argmin iterations (Jacobian evaluations after the first).
    pub iterations: u64,
    /// Number of residual evaluations, the initial one included.
    pub residual_evaluations: u64,
    /// Whether a tolerance was met (see [`LmTermination::converged`]).
    pub converged: bool,
    /// Why the solver stopped.
    pub termination: LmTermination,
}

/// Minimise ½‖r(x)‖² from `init` with [`LevenbergMarquardt`], run by argmin's
/// [`Executor`].
///
/// `problem` supplies residuals r(x) (length m ≥ 1, fixed) and the m × n
/// Jacobian; `init` has n ≥ 1 finite entries. Errors: invalid `opts`; empty or
/// non-finite `init`; non-finite residuals or Jacobian at `init`; residuals or
/// Jacobian whose shape changes; any error the problem itself returns
/// (reported as [`AnalysisError::Numerical`]). Running out of iterations is
/// not an error: the report says `converged: false`.
pub fn least_squares<P>(problem: P, init: DVector<f64>, opts: LmOptions) -> Result<LmReport>
where
    P: Operator<Param = DVector<f64>, Output = DVector<f64>>
        + Jacobian<Param = DVector<f64>, Jacobian = DMatrix<f64>>,
{
    opts.validate()?;
    ensure_at_least("init", 1, init.len())?;
    ensure_finite("init", init.iter())?;
    let max_iters = opts.max_iters;
    let result = Executor::new(problem, LevenbergMarquardt::new(opts))
        .configure(|s| s.param(init).max_iters(max_iters))
        .ctrlc(false)
        .run()
        .map_err(|e| match e.downcast::<AnalysisError>() {
            Ok(a) => a,
            Err(e) => AnalysisError::Numerical {
                what: "least_squares",
                reason: e.to_string(),
            },
        })?;
    let termination = result
        .solver
        .termination()
        .unwrap_or(LmTermination::MaxIterations);
    let mut state = result.state;
    let iterations = state.get_iter();
    let cost = state.get_cost();
    let params = state
        .take_param()
        .map(|p| p.as_slice().to_vec())
        .unwrap_or_default();
    let residuals = state
        .take_residuals()
        .map(|r| r.as_slice().to_vec())
        .unwrap_or_default();
    let residual_evaluations = result
        .problem
        .counts
        .get("operator_count")
        .copied()
        .unwrap_or(0);
    Ok(LmReport {
        params,
        cost,
        rss: 2.0 * cost,
        residuals,
        iterations,
        residual_evaluations,
        converged: termination.converged(),
        termination,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock as residuals (10(x₂ − x₁²), 1 − x₁).
    struct Rosenbrock;
    impl Operator for Rosenbrock {
        type Param = DVector<f64>;
        type Output = DVector<f64>;
        fn apply(&self, x: &DVector<f64>) -> Result<DVector<f64>, Error> {
            Ok(DVector::from_vec(vec![
                10.0 * (x[1] - x[0] * x[0]),
                1.0 - x[0],
            ]))
        }
    }
    impl Jacobian for Rosenbrock {
        type Param = DVector<f64>;
        type Jacobian = DMatrix<f64>;
        fn jacobian(&self, x: &DVector<f64>) -> Result<DMatrix<f64>, Error> {
            Ok(DMatrix::from_row_slice(
                2,
                2,
                &[-20.0 * x[0], 10.0, -1.0, 0.0],
            ))
        }
    }

    #[test]
    fn cholesky_solves_spd() {
        let mut a = DMatrix::from_row_slice(3, 3, &[4.0, 2.0, 0.6, 2.0, 2.0, 0.5, 0.6, 0.5, 3.0]);
        let orig = a.clone();
        let mut b = DVector::from_vec(vec![1.0, -2.0, 0.5]);
        let rhs = b.clone();
        assert!(cholesky_solve_in_place(&mut a, &mut b));
        assert!((orig * b - rhs).norm() < 1e-12);
        let mut bad = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        assert!(!cholesky_solve_in_place(
            &mut bad,
            &mut DVector::from_vec(vec![1.0, 1.0])
        ));
    }

    #[test]
    fn rosenbrock_converges_both_dampings() {
        for scale_diagonal in [true, false] {
            let opts = LmOptions {
                scale_diagonal,
                ..LmOptions::default()
            };
            let rep = least_squares(Rosenbrock, DVector::from_vec(vec![-1.2, 1.0]), opts).unwrap();
            assert!(rep.converged, "{rep:?}");
            assert!(
                (rep.params[0] - 1.0).abs() < 1e-9 && (rep.params[1] - 1.0).abs() < 1e-9,
                "{rep:?}"
            );
            assert_eq!(rep.termination, LmTermination::ZeroResidual);
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(
            least_squares(Rosenbrock, DVector::zeros(0), LmOptions::default()),
            Err(AnalysisError::TooFew { .. })
        ));
        assert!(matches!(
            least_squares(
                Rosenbrock,
                DVector::from_vec(vec![f64::NAN, 0.0]),
                LmOptions::default()
            ),
            Err(AnalysisError::NonFinite { .. })
        ));
        let bad = LmOptions {
            ftol: -1.0,
            ..LmOptions::default()
        };
        assert!(matches!(
            least_squares(Rosenbrock, DVector::zeros(2), bad),
            Err(AnalysisError::InvalidParameter { .. })
        ));
        // A Jacobian of the wrong shape is a typed error, not a panic.
        struct BadJac;
        impl Operator for BadJac {
            type Param = DVector<f64>;
            type Output = DVector<f64>;
            fn apply(&self, x: &DVector<f64>) -> Result<DVector<f64>, Error> {
                Ok(x.clone())
            }
        }
        impl Jacobian for BadJac {
            type Param = DVector<f64>;
            type Jacobian = DMatrix<f64>;
            fn jacobian(&self, _x: &DVector<f64>) -> Result<DMatrix<f64>, Error> {
                Ok(DMatrix::zeros(2, 3))
            }
        }
        assert!(matches!(
            least_squares(
                BadJac,
                DVector::from_vec(vec![1.0, 2.0]),
                LmOptions::default()
            ),
            Err(AnalysisError::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn max_iters_is_reported() {
        let opts = LmOptions {
            max_iters: 1,
            ..LmOptions::default()
        };
        let rep = least_squares(Rosenbrock, DVector::from_vec(vec![-1.2, 1.0]), opts).unwrap();
        assert_eq!(rep.termination, LmTermination::MaxIterations);
        assert!(!rep.converged);
        assert_eq!(rep.iterations, 1);
    }
}
