//! Unit nonlinearities φ of the rate models and their derivatives.

use serde::{Deserialize, Serialize};

/// The rate nonlinearity r = φ(a) applied to a unit's pre-activation `a`.
///
/// ReLU is Orhan & Ma's main model; the others are their supplementary
/// variants (clipped ReLU with `r_max` = 100, ELU, softplus). Sigmoid is the
/// Kim et al. rate model's φ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Nonlinearity {
    /// max(0, a).
    #[default]
    Relu,
    /// min(max(0, a), r_max).
    ClippedRelu {
        /// Saturation rate (Orhan & Ma: 100).
        r_max: f64,
    },
    /// a for a > 0, e^a − 1 otherwise (α = 1).
    Elu,
    /// ln(1 + e^a), computed stably.
    Softplus,
    /// 1 / (1 + e^{−a}).
    Sigmoid,
}

impl Nonlinearity {
    /// φ(a).
    #[inline]
    pub fn apply(self, a: f64) -> f64 {
        match self {
            Nonlinearity::Relu => a.max(0.0),
            Nonlinearity::ClippedRelu { r_max } => a.max(0.0).min(r_max),
            Nonlinearity::Elu => {
                if a > 0.0 {
                    a
                } else {
                    a.exp_m1()
                }
            }
            Nonlinearity::Softplus => a.max(0.0) + (-a.abs()).exp().ln_1p(),
            Nonlinearity::Sigmoid => 1.0 / (1.0 + (-a).exp()),
        }
    }

    /// φ'(a), with the convention φ'(kink) = 0 for ReLU-like kinks (as autograd frameworks do).
    #[inline]
    pub fn derivative(self, a: f64) -> f64 {
        match self {
            Nonlinearity::Relu => f64::from(u8::from(a > 0.0)),
            Nonlinearity::ClippedRelu { r_max } => f64::from(u8::from(a > 0.0 && a < r_max)),
            Nonlinearity::Elu => {
                if a > 0.0 {
                    1.0
                } else {
                    a.exp()
                }
            }
            Nonlinearity::Softplus => 1.0 / (1.0 + (-a).exp()),
            Nonlinearity::Sigmoid => {
                let s = 1.0 / (1.0 + (-a).exp());
                s * (1.0 - s)
            }
        }
    }
}
