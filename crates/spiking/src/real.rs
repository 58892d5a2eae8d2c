//! The floating-point type of a simulation: `f32` (fast, the default) or `f64`
//! (for comparisons with MATLAB traces).

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Mul, Sub};

/// `f32` or `f64`.
pub trait Real:
    Copy
    + Debug
    + Default
    + PartialOrd
    + Send
    + Sync
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + AddAssign
    + 'static
{
    /// Conversion from `f64`.
    fn of(x: f64) -> Self;
    /// Conversion from `f32` (exact for both).
    fn of_f32(x: f32) -> Self;
    /// Conversion to `f64`.
    fn to_f64(self) -> f64;
}

impl Real for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn of_f32(x: f32) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Real for f64 {
    fn of(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn of_f32(x: f32) -> Self {
        f64::from(x)
    }
    fn to_f64(self) -> f64 {
        self
    }
}
