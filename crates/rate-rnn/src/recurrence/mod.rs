//! The recurrent loop as one fused candle op with a hand-written BPTT backward.
//!
//! For every trial `b` and step `t` (row-vector convention, `W` is pre × post):
//!
//! ```text
//! a_t = u_t + h_{t−1} W                       (h_{−1} = 0)
//! h_t = h_{t−1} + c_t · (φ(a_t) − h_{t−1}),   c_t = α · m_t
//! ```
//!
//! `u_t` is the input drive (input projection plus biases, computed by candle
//! outside the loop), `α = dt/τ` the leak (1: Orhan & Ma's discrete-time
//! network) and `m_t ∈ {0, 1}` the per-trial update flag of variable-length
//! trials (0 holds the state, as Lasagne's masked step does).
//!
//! Why fused: driving the loop with per-step candle ops builds a graph of
//! `T × ops` nodes whose backward costs several small gemms per step and a
//! full-size gradient per slice (measured far slower on CPU). Here the
//! backward runs one `B×N · N×N` gemm per step for `∂L/∂h_{t−1}` and one
//! `N×KB · KB×N` gemm for `∂L/∂W` per block of K steps (≥ 512 rows, still in
//! cache; `DW_BLOCK_ROWS`). The forward pass
//! keeps the slopes `φ'(a_t)` (in the pre-activations' buffer), so the
//! backward pass evaluates no nonlinearity.
//!
//! In ReLU networks the three products skip the units that are silent in
//! every trial of the step, per step when that pays ([`Products`]; module
//! `silent`): a trained network has most of its units silent at a step.
//!
//! Backward, per step from `T−1` down to 0, with `g_t = ∂L/∂h_t` (direct plus
//! carried):
//!
//! ```text
//! ∂L/∂a_t   = clip(g_t · c_t · φ'(a_t), ±clip)     (Theano's grad_clip)
//! g_{t−1}  += (1 − c_t) g_t + ∂L/∂a_t Wᵀ
//! ∂L/∂u_t   = ∂L/∂a_t,     ∂L/∂W = Σ_t h_{t−1}ᵀ ∂L/∂a_t
//! ```

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use crate::linalg::{MAX_DENSITY, Op, PackedRhs, Real, SparseRows, matmul};
use crate::nonlinearity::Nonlinearity;

pub mod dale;
mod grad_clip;
mod readout;
mod silent;
mod with_readout;

pub use dale::dale_recurrence;
pub use grad_clip::grad_clip;
pub use readout::{readout, readout_with_power};
use silent::{GradientProduct, RecurrentProduct};
pub use silent::{Products, with_products};
pub use with_readout::{RecurrentReadout, recurrence_with_readout};

/// Parameters of the fused loop that are not tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct RecurrenceSpec {
    /// The rate nonlinearity φ.
    pub phi: Nonlinearity,
    /// Leak `α = dt/τ` in (0, 1]; 1 means no leak.
    pub alpha: f64,
    /// Elementwise bound on `∂L/∂a_t` in the backward pass (Orhan & Ma: 100).
    pub grad_clip: Option<f64>,
    /// Per-step update flags `[T, B]` (1 update, 0 hold); `None` updates always.
    pub update: Option<Arc<Vec<f32>>>,
}

impl Default for RecurrenceSpec {
    fn default() -> Self {
        Self {
            phi: Nonlinearity::Relu,
            alpha: 1.0,
            grad_clip: None,
            update: None,
        }
    }
}

/// Run the recurrence on `u` `[T, B, N]` with recurrent weights `w` `[N, N]`
/// (pre × post). Returns the rates `h` `[T, B, N]`, differentiable in `u` and `w`.
pub fn recurrence(u: &Tensor, w: &Tensor, spec: &RecurrenceSpec) -> candle_core::Result<Tensor> {
    let n = w.dim(0)?;
    let bias = Tensor::zeros(n, u.dtype(), u.device())?;
    recurrence_with_bias(u, w, &bias, spec)
}

/// [`recurrence`] with a bias `[N]` added to every step's drive,
/// `a_t = u_t + bias + h_{t−1} W`; differentiable in `u`, `w` and `bias`.
///
/// Passing the bias here rather than broadcasting it onto `u` with candle
/// saves a `[T·B, N]` broadcast and its column-sum in the backward pass.
pub fn recurrence_with_bias(
    u: &Tensor,
    w: &Tensor,
    bias: &Tensor,
    spec: &RecurrenceSpec,
) -> candle_core::Result<Tensor> {
    let (t, b, n) = u.dims3()?;
    let (n1, n2) = w.dims2()?;
    if n1 != n || n2 != n {
        candle_core::bail!(
            "recurrence: w is {n1}×{n2}, expected {n}×{n} for u of shape {t}×{b}×{n}"
        );
    }
    if bias.dims() != [n] {
        candle_core::bail!(
            "recurrence: bias has shape {:?}, expected [{n}]",
            bias.dims()
        );
    }
    let u = u.contiguous()?;
    let w = w.contiguous()?;
    let bias = bias.contiguous()?;
    u.apply_op3(
        &w,
        &bias,
        AsCustomOp(Fused::new(spec, (t, b, n), Drive::Given)?),
    )
}

/// The recurrence driven by inputs `x` `[T, B, I]` through `w_in` `[I, N]`:
/// `a_t = x_t w_in + bias + extra_t + h_{t−1} W`, differentiable in `w_in`,
/// `bias` and `w` (not in `x` or `extra`). `extra` `[T, B, N]` is an optional
/// fixed drive such as recurrent noise.
///
/// Same values as projecting with candle and calling [`recurrence_with_bias`],
/// but the `[T, B, N]` drive never becomes a candle tensor: its allocation,
/// its gradient's zero-fill and accumulation, and the input projection's
/// candle backward are replaced by products inside the op. Sparse inputs
/// (Poisson counts) are projected one step at a time, just before the
/// step's recurrent product, and the input weights' gradient summed one
/// step at a time in the backward pass, each while the step is in cache;
/// dense inputs take one gemm each way.
pub fn recurrence_from_input(
    x: &Tensor,
    w_in: &Tensor,
    bias: &Tensor,
    w: &Tensor,
    extra: Option<&Tensor>,
    spec: &RecurrenceSpec,
) -> candle_core::Result<Tensor> {
    let (w_aug, drive, dims) = projected(x, w_in, bias, w, extra)?;
    x.contiguous()?.apply_op3(
        &w.contiguous()?,
        &w_aug,
        AsCustomOp(Fused::new(spec, dims, drive)?),
    )
}

/// Check the operands of a projected drive; returns `[w_in; bias]`
/// `[I + 1, N]`, the drive and `(T, B, N)`.
fn projected(
    x: &Tensor,
    w_in: &Tensor,
    bias: &Tensor,
    w: &Tensor,
    extra: Option<&Tensor>,
) -> candle_core::Result<(Tensor, Drive, (usize, usize, usize))> {
    let (t, b, ni) = x.dims3()?;
    let (i1, n) = w_in.dims2()?;
    if i1 != ni {
        candle_core::bail!(
            "recurrence: w_in is {i1}×{n}, expected {ni} rows for x of shape {t}×{b}×{ni}"
        );
    }
    if w.dims() != [n, n] {
        candle_core::bail!(
            "recurrence: w has shape {:?}, expected [{n}, {n}]",
            w.dims()
        );
    }
    if bias.dims() != [n] {
        candle_core::bail!(
            "recurrence: bias has shape {:?}, expected [{n}]",
            bias.dims()
        );
    }
    let extra = match extra {
        Some(e) if e.dims() != [t, b, n] => candle_core::bail!(
            "recurrence: extra drive has shape {:?}, expected [{t}, {b}, {n}]",
            e.dims()
        ),
        Some(e) => Some(e.to_dtype(x.dtype())?.contiguous()?),
        None => None,
    };
    // w_in and the bias travel as one [I + 1, N] operand (bias last).
    let w_aug = Tensor::cat(&[w_in, &bias.unsqueeze(0)?], 0)?.contiguous()?;
    Ok((w_aug, Drive::Projected { n_in: ni, extra }, (t, b, n)))
}

/// What the forward pass keeps for the backward one.
struct Kept<T> {
    /// The slopes φ′(a_t), `[T, B, N]`.
    slope: Vec<T>,
    /// The inputs' nonzero entries, when the input products walked them
    /// (the weight gradient `xᵀ·∂L/∂u` walks the same ones).
    sparse_x: Option<SparseRows<T>>,
}

/// [`Kept`] in the operands' float type.
enum Saved {
    F32(Kept<f32>),
    F64(Kept<f64>),
}

/// Where the drive `u_t` comes from.
enum Drive {
    /// Given as the first operand `[T, B, N]`; the third is the bias `[N]`.
    Given,
    /// Projected from the first operand `x` `[T, B, I]` by the third,
    /// `[I + 1, N]` (`w_in` with the bias as its last row), plus `extra`.
    Projected { n_in: usize, extra: Option<Tensor> },
}

/// How the loop gets each step's drive `u_t + bias` `[B, N]`.
enum StepDrive<'a, T> {
    /// Every step's drive computed up front (dense inputs or an extra
    /// drive), with the inputs' nonzero entries when they were walked.
    Ready {
        a: Vec<T>,
        sparse_x: Option<SparseRows<T>>,
    },
    /// A given drive `u` `[T, B, N]` plus the bias.
    Given { u: &'a [T], bias: &'a [T] },
    /// The bias plus `x_t w_in`, walking step t's nonzero inputs just
    /// before the step's recurrent product, so the drive is written once,
    /// in cache, instead of in passes over the whole `[T, B, N]` buffer.
    Sparse {
        x: SparseRows<T>,
        w_in: &'a [T],
        bias: &'a [T],
    },
}

impl<T: Real> StepDrive<'_, T> {
    /// The buffer the loop runs in: the whole drive if it is ready, else
    /// an empty one with room for `len` values.
    fn take_ready(&mut self, len: usize) -> Vec<T> {
        match self {
            StepDrive::Ready { a, .. } => std::mem::take(a),
            _ => Vec::with_capacity(len),
        }
    }

    /// Append step `t`'s drive (`nb` trials) to `a`, unless it is ready.
    fn append(&self, t: usize, a: &mut Vec<T>, nb: usize) {
        let start = a.len();
        match self {
            StepDrive::Ready { .. } => {}
            StepDrive::Given { u, bias } => {
                let step = nb * bias.len();
                a.extend_from_slice(&u[t * step..(t + 1) * step]);
                add_bias(&mut a[start..], bias);
            }
            StepDrive::Sparse { x, w_in, bias } => {
                for _ in 0..nb {
                    a.extend_from_slice(bias);
                }
                x.matmul_acc_rows(t * nb..(t + 1) * nb, &mut a[start..], w_in, bias.len());
            }
        }
    }

    /// The inputs' nonzero entries, if the drive walked them.
    fn into_sparse(self) -> Option<SparseRows<T>> {
        match self {
            StepDrive::Ready { sparse_x, .. } => sparse_x,
            StepDrive::Given { .. } => None,
            StepDrive::Sparse { x, .. } => Some(x),
        }
    }
}

/// Add `bias` `[N]` to every row of `a`.
fn add_bias<T: Real>(a: &mut [T], bias: &[T]) {
    for row in a.chunks_exact_mut(bias.len()) {
        for (x, &bi) in row.iter_mut().zip(bias) {
            *x += bi;
        }
    }
}

struct Fused {
    spec: RecurrenceSpec,
    drive: Drive,
    /// `c = α·m` per (step, trial), `[T, B]`.
    coef: Vec<f64>,
    dims: (usize, usize, usize),
    saved: Mutex<Option<Saved>>,
}

impl Fused {
    fn new(
        spec: &RecurrenceSpec,
        dims: (usize, usize, usize),
        drive: Drive,
    ) -> candle_core::Result<Self> {
        let (t, b, _) = dims;
        if let Some(m) = &spec.update
            && m.len() != t * b
        {
            candle_core::bail!(
                "recurrence: update flags have {} entries, expected T·B = {}",
                m.len(),
                t * b
            );
        }
        if !(spec.alpha > 0.0 && spec.alpha <= 1.0) {
            candle_core::bail!("recurrence: alpha = {} must be in (0, 1]", spec.alpha);
        }
        if let Some(c) = spec.grad_clip
            && (c.is_nan() || c <= 0.0)
        {
            candle_core::bail!("recurrence: grad_clip = {c} must be > 0");
        }
        let coef: Vec<f64> = match &spec.update {
            Some(m) => m.iter().map(|&v| spec.alpha * f64::from(v)).collect(),
            None => vec![spec.alpha; t * b],
        };
        Ok(Self {
            spec: spec.clone(),
            drive,
            coef,
            dims,
            saved: Mutex::new(None),
        })
    }
}

impl Fused {
    /// Whether φ is exactly zero over a range of inputs (ReLU and clipped
    /// ReLU), so that units fall silent and their products can be skipped.
    fn has_zeros(&self) -> bool {
        matches!(
            self.spec.phi,
            Nonlinearity::Relu | Nonlinearity::ClippedRelu { .. }
        )
    }
}

pub(crate) fn contiguous<'a, T>(v: &'a [T], l: &Layout) -> candle_core::Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => candle_core::bail!("recurrence: operand is not contiguous"),
    }
}

/// The three operands of a fused op's forward pass: contiguous slices of
/// one float type.
enum Operands<'a> {
    F32([&'a [f32]; 3]),
    F64([&'a [f64]; 3]),
}

/// A three-operand CPU op of this module. [`AsCustomOp`] makes it candle's
/// [`CustomOp3`], so that matching the operands' float type and checking
/// their layouts is written once for all of them.
trait FusedOp: Send + Sync {
    /// The op's name in candle's graph (and in its errors).
    fn name(&self) -> &'static str;

    /// The output and its shape; `first` is the first operand's layout.
    fn fwd(
        &self,
        operands: Operands<'_>,
        first: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)>;

    /// The operands' gradients from the operands, the output and its
    /// gradient, as [`CustomOp3::bwd`].
    fn bwd(
        &self,
        args: [&Tensor; 3],
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Gradients>;
}

/// The gradients of a three-operand op's operands (`None`: not differentiable).
type Gradients = (Option<Tensor>, Option<Tensor>, Option<Tensor>);

/// A [`FusedOp`] as candle's [`CustomOp3`].
struct AsCustomOp<O>(O);

impl<O: FusedOp> CustomOp3 for AsCustomOp<O> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let operands = match (s1, s2, s3) {
            (CpuStorage::F32(a), CpuStorage::F32(b), CpuStorage::F32(c)) => {
                Operands::F32([contiguous(a, l1)?, contiguous(b, l2)?, contiguous(c, l3)?])
            }
            (CpuStorage::F64(a), CpuStorage::F64(b), CpuStorage::F64(c)) => {
                Operands::F64([contiguous(a, l1)?, contiguous(b, l2)?, contiguous(c, l3)?])
            }
            _ => candle_core::bail!(
                "{}: the three operands must all be f32 or all f64",
                self.0.name()
            ),
        };
        self.0.fwd(operands, l1)
    }

    fn bwd(
        &self,
        arg1: &Tensor,
        arg2: &Tensor,
        arg3: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Gradients> {
        self.0.bwd([arg1, arg2, arg3], res, grad_res)
    }
}

/// φ evaluated in the element type, a whole row at a time so each variant's
/// loop is straight-line code the compiler vectorises.
#[derive(Clone, Copy)]
enum Phi<T> {
    Relu,
    Clipped(T),
    Softplus,
    Sigmoid,
    Other(Nonlinearity),
}

impl<T: Real> Phi<T> {
    fn new(phi: Nonlinearity) -> Self {
        match phi {
            Nonlinearity::Relu => Phi::Relu,
            Nonlinearity::ClippedRelu { r_max } => Phi::Clipped(T::from_f64(r_max)),
            Nonlinearity::Softplus => Phi::Softplus,
            Nonlinearity::Sigmoid => Phi::Sigmoid,
            other => Phi::Other(other),
        }
    }

    /// Append `φ(a)` to `h` and set `a ← φ′(a)`: the pre-activations are
    /// needed only through φ′ in the backward pass, so their slot keeps the
    /// slope (φ′(kink) = 0 for ReLU-like kinks, as autograd frameworks do).
    /// Appending writes each rate once; zeroing the rates first cost a
    /// full extra pass.
    #[inline(always)]
    fn eval_append(self, a: &mut [T], h: &mut Vec<T>) {
        match self {
            Phi::Relu => h.extend(a.iter_mut().map(|x| {
                let pos = *x > T::ZERO;
                let y = if pos { *x } else { T::ZERO };
                *x = if pos { T::ONE } else { T::ZERO };
                y
            })),
            Phi::Clipped(m) => h.extend(a.iter_mut().map(|x| {
                let v = *x;
                *x = if v > T::ZERO && v < m {
                    T::ONE
                } else {
                    T::ZERO
                };
                if v <= T::ZERO {
                    T::ZERO
                } else if v < m {
                    v
                } else {
                    m
                }
            })),
            Phi::Softplus => h.extend(a.iter_mut().map(|x| {
                let (y, slope) = x.softplus_and_slope();
                *x = slope;
                y
            })),
            Phi::Sigmoid => h.extend(a.iter_mut().map(|x| {
                let (y, slope) = x.sigmoid_and_slope();
                *x = slope;
                y
            })),
            Phi::Other(f) => h.extend(a.iter_mut().map(|x| {
                let v = x.to_f64();
                *x = T::from_f64(f.derivative(v));
                T::from_f64(f.apply(v))
            })),
        }
    }
}

/// One step's rates `φ(a_t)` appended to `h`, with `a_t ← φ′(a_t)`
/// (see [`Phi::eval_append`]); compiled twice (baseline x86-64 and AVX2),
/// as the products are.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn activate<T: Real>(phi: Phi<T>, a_t: &mut [T], h: &mut Vec<T>) {
    phi.eval_append(a_t, h);
}

impl Fused {
    /// How the loop gets every step's drive `u_t + bias`, from the first
    /// operand `first` and the third `third` (see [`Drive`]). A projected
    /// drive walks the inputs' nonzero entries when at most [`MAX_DENSITY`]
    /// of them are nonzero (and keeps them for the backward pass); otherwise
    /// the gemm crate projects the dense inputs up front.
    fn drive<'a, T: Real + candle_core::WithDType>(
        &self,
        first: &'a [T],
        third: &'a [T],
    ) -> candle_core::Result<StepDrive<'a, T>> {
        let (nt, nb, n) = self.dims;
        Ok(match &self.drive {
            Drive::Given => StepDrive::Given {
                u: first,
                bias: third,
            },
            Drive::Projected { n_in, extra } => {
                let (w_in, bias) = third.split_at(n_in * n);
                let sparse_x = SparseRows::from_dense(first, *n_in, MAX_DENSITY);
                match (sparse_x, extra) {
                    (Some(x), None) => StepDrive::Sparse { x, w_in, bias },
                    (sparse_x, extra) => {
                        let mut a = match extra {
                            Some(e) => with_slice::<T, _>(e, |e| {
                                let mut a = e.to_vec();
                                add_bias(&mut a, bias);
                                Ok(a)
                            })?,
                            None => bias.repeat(nt * nb),
                        };
                        match &sparse_x {
                            Some(sx) => sx.matmul_acc(&mut a, w_in, n),
                            None => {
                                matmul(&mut a, first, Op::N, w_in, Op::N, nt * nb, n, *n_in, true)
                            }
                        }
                        StepDrive::Ready { a, sparse_x }
                    }
                }
            }
        })
    }

    /// Run the loop on the drive; returns the rates and what the backward
    /// pass needs (the drive's buffer ends up holding the slopes φ′(a_t)).
    /// `on_step(t, h_t)` sees each step's final rates `[B, N]` while they
    /// are still in cache.
    fn forward<T: Real>(
        &self,
        mut drive: StepDrive<'_, T>,
        w: &[T],
        mut on_step: impl FnMut(usize, &[T]),
    ) -> (Vec<T>, Kept<T>) {
        let (nt, nb, n) = self.dims;
        let step = nb * n;
        let phi = Phi::<T>::new(self.spec.phi);
        let w = PackedRhs::new(w, Op::N, n, n);
        let mut product = RecurrentProduct::new(silent::products(), self.has_zeros(), n);
        // Grown one step at a time: each step's drive and rates are written
        // just before they are used, while in cache, not all at once up front.
        let mut a = drive.take_ready(nt * step);
        let mut h = Vec::with_capacity(nt * step);
        for t in 0..nt {
            drive.append(t, &mut a, nb);
            let a_t = &mut a[t * step..(t + 1) * step];
            if t > 0 {
                product.acc(&w, a_t, &h[(t - 1) * step..], nb, n);
            }
            activate(phi, a_t, &mut h);
            let (done, rest) = h.split_at_mut(t * step);
            let h_t = &mut rest[..step];
            let h_prev = if t > 0 {
                Some(&done[(t - 1) * step..])
            } else {
                None
            };
            for b in 0..nb {
                let c = self.coef[t * nb + b];
                if c == 1.0 {
                    continue;
                }
                let r = b * n..(b + 1) * n;
                let hr = &mut h_t[r.clone()];
                let c = T::from_f64(c);
                match h_prev {
                    Some(hp) => {
                        for (hi, &pi) in hr.iter_mut().zip(&hp[r]) {
                            *hi = pi + c * (*hi - pi);
                        }
                    }
                    None => {
                        for hi in hr.iter_mut() {
                            *hi = c * *hi;
                        }
                    }
                }
            }
            on_step(t, h_t);
        }
        let kept = Kept {
            slope: a,
            sparse_x: drive.into_sparse(),
        };
        (h, kept)
    }

    /// Returns `(∂L/∂u, ∂L/∂W, ∂L/∂bias)`; `slope` holds φ′(a_t) from the
    /// forward pass and becomes ∂L/∂u (each step's slopes are read once,
    /// just before that step's gradient takes their place).
    /// `add_direct(t, g)` adds the loss's direct gradient `∂L/∂h_t` `[B, N]`
    /// into `g`, from the latest step down; `on_drive_grad(t, ∂L/∂u_t)`
    /// sees each step's drive gradient `[B, N]` while it is in cache.
    fn backward<T: Real>(
        &self,
        w: &[T],
        h: &[T],
        slope: Vec<T>,
        mut add_direct: impl FnMut(usize, &mut [T]),
        mut on_drive_grad: impl FnMut(usize, &[T]),
    ) -> (Vec<T>, Vec<T>, Vec<T>) {
        let (nt, nb, n) = self.dims;
        let step = nb * n;
        let clip = T::from_f64(self.spec.grad_clip.unwrap_or(f64::MAX));
        let mut da = slope;
        // g holds ∂L/∂h_t: the direct gradient plus what step t+1 carried back.
        let mut g = vec![T::ZERO; step];
        add_direct(nt - 1, &mut g);
        let mut carry = vec![T::ZERO; step];
        let w_t = PackedRhs::new(w, Op::T, n, n);
        let products = silent::products();
        let mut product = RecurrentProduct::new(products, self.has_zeros(), n);
        let mut gradient = GradientProduct::new(products, self.has_zeros(), n);
        let mut dw = vec![T::ZERO; n * n];
        // ∂L/∂W = Σ_{t≥1} h_{t−1}ᵀ ∂L/∂a_t, one product per block of steps
        // `t..pending` while their rates and gradients are still in cache.
        let block = DW_BLOCK_ROWS.div_ceil(nb).max(1);
        let mut pending = nt;
        let add_dw = |dw: &mut [T], lo: usize, hi: usize, da: &[T]| {
            if lo < hi {
                matmul(
                    dw,
                    &h[(lo - 1) * step..(hi - 1) * step],
                    Op::T,
                    &da[lo * step..hi * step],
                    Op::N,
                    n,
                    n,
                    (hi - lo) * nb,
                    true,
                );
            }
        };
        let mut dbias = vec![T::ZERO; n];
        for t in (0..nt).rev() {
            let da_t = &mut da[t * step..(t + 1) * step];
            let coef = &self.coef[t * nb..(t + 1) * nb];
            preactivation_gradient(da_t, &g, &mut carry, coef, &mut dbias, clip);
            on_drive_grad(t, da_t);
            if t == 0 {
                break;
            }
            product.acc(&w_t, &mut carry, da_t, nb, n);
            // A step with few active units adds its own share of ∂L/∂W
            // (from the gradient just compacted); the block of dense steps
            // after it is summed first, so that blocks stay contiguous.
            let h_prev = &h[(t - 1) * step..t * step];
            if let Some(d) = product.compacted()
                && gradient.acc_step(&mut dw, h_prev, d, n)
            {
                add_dw(&mut dw, t + 1, pending, &da);
                pending = t;
            }
            add_direct(t - 1, &mut carry);
            std::mem::swap(&mut g, &mut carry);
            if pending - t >= block {
                add_dw(&mut dw, t, pending, &da);
                pending = t;
            }
        }
        add_dw(&mut dw, 1, pending, &da);
        (da, dw, dbias)
    }
}

/// One step of the backward pass, elementwise: for each trial `b` (rows of
/// `n = dbias.len()` units) with `c = coef[b]`,
/// `∂L/∂a = clip(g · c · φ′(a), ±clip)` in place of the slopes `da_t`,
/// `carry = (1 − c) g`, and `dbias += ∂L/∂a` (summed here while the step's
/// gradient is in cache, not in a later pass over all steps). Compiled
/// twice (baseline x86-64 and AVX2), as the products are.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn preactivation_gradient<T: Real>(
    da_t: &mut [T],
    g: &[T],
    carry: &mut [T],
    coef: &[f64],
    dbias: &mut [T],
    clip: T,
) {
    let n = dbias.len();
    let neg_clip = T::ZERO - clip;
    for (((d, gr), cr), &c) in da_t
        .chunks_exact_mut(n)
        .zip(g.chunks_exact(n))
        .zip(carry.chunks_exact_mut(n))
        .zip(coef)
    {
        let ct = T::from_f64(c);
        let keep = T::from_f64(1.0 - c);
        for (((di, &gi), ci), si) in d.iter_mut().zip(gr).zip(cr).zip(dbias.iter_mut()) {
            *di = (gi * ct * *di).clamp(neg_clip, clip);
            *ci = keep * gi;
            *si += *di;
        }
    }
}

/// Rows (steps × trials) summed per product of the recurrent weight
/// gradient: long enough for the gemm to run near its peak rate, short
/// enough that the block's rates and gradients (2 × 512 × N values, 400 KB
/// at N = 100) are still in L2 when it runs. One product over all steps
/// reads both 2-MB operands back from memory; at N = 100 its packing took
/// a third of its time.
const DW_BLOCK_ROWS: usize = 512;

/// The error of a lock whose holder panicked.
fn poisoned<E>(_: E) -> candle_core::Error {
    candle_core::Error::Msg("recurrence: poisoned state".into())
}

/// Borrow a contiguous CPU tensor's elements as `&[T]`.
pub(crate) fn with_slice<T: Real + candle_core::WithDType, R>(
    t: &Tensor,
    f: impl FnOnce(&[T]) -> candle_core::Result<R>,
) -> candle_core::Result<R> {
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        candle_core::Storage::Cpu(cpu) => f(contiguous(cpu.as_slice::<T>()?, layout)?),
        _ => candle_core::bail!("recurrence: only the CPU backend is supported"),
    }
}

impl Fused {
    /// Gradients of the three operands: `(∂L/∂u, ∂L/∂W, ∂L/∂bias)` for a
    /// given drive; `(None, ∂L/∂W, ∂L/∂[w_in; bias])` for a projected one.
    fn bwd_typed<T: Real + candle_core::WithDType>(
        &self,
        kept: Kept<T>,
        first: &Tensor,
        w: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Tensor, Tensor)> {
        let (nt, nb, n) = self.dims;
        let dev = w.device();
        let grad_res = grad_res.contiguous()?;
        // A given drive's gradient is returned whole; a projected one's
        // becomes the input weights' gradient.
        let mut d_in = match &self.drive {
            Drive::Given => None,
            Drive::Projected { n_in, .. } => {
                Some(InputGradient::new(kept.sparse_x.as_ref(), *n_in, n))
            }
        };
        let (du, dw, db) = with_slice::<T, _>(w, |w| {
            with_slice::<T, _>(res, |h| {
                with_slice::<T, _>(&grad_res, |dh| {
                    let add_direct = |t: usize, g: &mut [T]| {
                        let step = g.len();
                        for (gi, &di) in g.iter_mut().zip(&dh[t * step..]) {
                            *gi += di;
                        }
                    };
                    Ok(self.backward(w, h, kept.slope, add_direct, |t, du_t| {
                        if let Some(d) = d_in.as_mut() {
                            d.add_step(t, du_t);
                        }
                    }))
                })
            })
        })?;
        let dw = Tensor::from_vec(dw, (n, n), dev)?;
        match d_in {
            None => Ok((
                Some(Tensor::from_vec(du, (nt, nb, n), dev)?),
                dw,
                Tensor::from_vec(db, n, dev)?,
            )),
            Some(d_in) => {
                let rows = d_in.n_in + 1;
                let d_aug = with_slice::<T, _>(first, |x| Ok(d_in.finish(x, &du, &db)))?;
                Ok((None, dw, Tensor::from_vec(d_aug, (rows, n), dev)?))
            }
        }
    }
}

/// `∂L/∂[w_in; bias]` `[I + 1, N]`: `xᵀ ∂L/∂u` over all steps and trials,
/// then the bias gradient as the last row. With sparse inputs each step's
/// share is added by [`InputGradient::add_step`] while that step's drive
/// gradient is in cache; dense inputs take one gemm at the end.
struct InputGradient<'a, T> {
    sparse_x: Option<&'a SparseRows<T>>,
    n_in: usize,
    d_aug: Vec<T>,
}

impl<'a, T: Real> InputGradient<'a, T> {
    fn new(sparse_x: Option<&'a SparseRows<T>>, n_in: usize, n: usize) -> Self {
        Self {
            sparse_x,
            n_in,
            d_aug: vec![T::ZERO; (n_in + 1) * n],
        }
    }

    /// Add step `t`'s share from its drive gradient `du_t` `[B, N]`
    /// (nothing for dense inputs, whose product waits for [`Self::finish`]).
    fn add_step(&mut self, t: usize, du_t: &[T]) {
        if let Some(sx) = self.sparse_x {
            let n = self.d_aug.len() / (self.n_in + 1);
            let nb = du_t.len() / n;
            let d_in = &mut self.d_aug[..self.n_in * n];
            sx.t_matmul_acc_rows(t * nb..(t + 1) * nb, d_in, du_t, n);
        }
    }

    /// The gradient, given the inputs `x` `[T·B, I]`, the whole drive
    /// gradient `du` `[T·B, N]` and the bias gradient.
    fn finish(mut self, x: &[T], du: &[T], dbias: &[T]) -> Vec<T> {
        let n = dbias.len();
        let n_in = self.n_in;
        if self.sparse_x.is_none() {
            let rows = du.len() / n;
            let d_in = &mut self.d_aug[..n_in * n];
            matmul(d_in, x, Op::T, du, Op::N, n_in, n, rows, false);
        }
        self.d_aug[n_in * n..].copy_from_slice(dbias);
        self.d_aug
    }
}

impl FusedOp for Fused {
    fn name(&self) -> &'static str {
        "wm-recurrence"
    }

    fn fwd(&self, operands: Operands<'_>, _: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let mut saved = self.saved.lock().map_err(poisoned)?;
        let h = match operands {
            Operands::F32([x, w, b]) => {
                let (h, kept) = self.forward(self.drive(x, b)?, w, |_, _| {});
                *saved = Some(Saved::F32(kept));
                CpuStorage::F32(h)
            }
            Operands::F64([x, w, b]) => {
                let (h, kept) = self.forward(self.drive(x, b)?, w, |_, _| {});
                *saved = Some(Saved::F64(kept));
                CpuStorage::F64(h)
            }
        };
        Ok((h, Shape::from(self.dims)))
    }

    fn bwd(
        &self,
        [first, w, _third]: [&Tensor; 3],
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Gradients> {
        // The slopes are taken, not copied: their buffer becomes ∂L/∂u.
        let saved = self.saved.lock().map_err(poisoned)?.take();
        let (du, dw, d3) = match saved {
            Some(Saved::F32(s)) => self.bwd_typed::<f32>(s, first, w, res, grad_res)?,
            Some(Saved::F64(s)) => self.bwd_typed::<f64>(s, first, w, res, grad_res)?,
            None => candle_core::bail!(
                "recurrence: backward without a forward pass (each forward pass supports one backward pass)"
            ),
        };
        Ok((du, Some(dw), Some(d3)))
    }
}
