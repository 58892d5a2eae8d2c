//! Tests for `wm_analysis::stats`.
//!
//! Oracles are independent of the code under test:
//! * closed forms computed step by step here (t with df = 1 is Cauchy,
//!   `p = 1 − 2·atan|t|/π`; df = 2 gives `p = 1 − |t|/√(2 + t²)`;
//!   `F(2, d)` has survival `(1 + 2F/d)^(−d/2)`; `F(1, d) = t²`);
//! * reference values from scipy 1.17.1 / numpy 2.4.6, recorded as literals
//!   with the call that produced them;
//! * algebraic identities (normal equations, Wald t of a simple regression
//!   equals Pearson's t).

// Wrapped in a module so that `cargo test stats` selects these tests by name.
mod stats {
    use approx::assert_relative_eq;
    use ndarray::{Array1, Array2};
    use proptest::prelude::*;
    use std::f64::consts::PI;
    use wm_analysis::AnalysisError;
    use wm_analysis::stats::*;

    const TOL: f64 = 1e-8;

    // Shared samples (also used in the scipy session that produced the literals).
    const A: [f64; 8] = [5.1, 4.9, 6.2, 5.8, 6.0, 5.5, 5.3, 6.1];
    const A2: [f64; 8] = [4.8, 5.0, 5.7, 5.5, 5.6, 5.4, 5.0, 5.9];
    const B: [f64; 7] = [4.3, 4.8, 5.0, 4.1, 4.6, 5.2, 4.4];
    const C: [f64; 5] = [6.3, 6.9, 5.9, 7.2, 6.6];

    fn cauchy_p(t: f64) -> f64 {
        1.0 - 2.0 * t.abs().atan() / PI
    }

    fn t2_p(t: f64) -> f64 {
        1.0 - t.abs() / (2.0 + t * t).sqrt()
    }

    fn mean(x: &[f64]) -> f64 {
        x.iter().sum::<f64>() / x.len() as f64
    }

    fn var(x: &[f64]) -> f64 {
        let m = mean(x);
        x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)
    }

    // ---------------------------------------------------------------- mean_sem

    #[test]
    fn mean_sem_closed_form() {
        // x = [2, 4, 6, 8]: mean 5, SS = 9+1+1+9 = 20, var = 20/3.
        let m = mean_sem(&[2.0, 4.0, 6.0, 8.0]).unwrap();
        assert_eq!(m.n, 4);
        assert_relative_eq!(m.mean, 5.0, epsilon = 1e-12);
        assert_relative_eq!(m.sd, (20.0_f64 / 3.0).sqrt(), epsilon = 1e-12);
        assert_relative_eq!(m.sem, (20.0_f64 / 3.0).sqrt() / 2.0, epsilon = 1e-12);
        // A constant sample is allowed: sd = sem = 0.
        let c = mean_sem(&[3.0, 3.0, 3.0]).unwrap();
        assert_eq!((c.mean, c.sd, c.sem), (3.0, 0.0, 0.0));
    }

    #[test]
    fn finite_mean_skips_nan_and_infinities() {
        // (1 + 2 + 6) / 3 = 3: NaN, +∞ and −∞ are left out of sum and count.
        let v = [1.0, f64::NAN, 2.0, f64::INFINITY, 6.0, f64::NEG_INFINITY];
        assert_eq!(finite_mean(v), 3.0);
        assert!(finite_mean([f64::NAN, f64::INFINITY]).is_nan());
        assert!(finite_mean(&[] as &[f64]).is_nan());
    }

    // ---------------------------------------------------------------- p-value helpers

    #[test]
    fn t_p_matches_cauchy_and_df2_closed_forms() {
        for &t in &[0.0, 0.1, 0.5, 1.0, 2.0, 3.7, 12.0, 250.0, -4.2] {
            assert_relative_eq!(
                t_two_sided_p(t, 1.0).unwrap(),
                cauchy_p(t),
                max_relative = TOL
            );
            assert_relative_eq!(t_two_sided_p(t, 2.0).unwrap(), t2_p(t), max_relative = TOL);
        }
        assert_eq!(t_two_sided_p(f64::INFINITY, 3.0).unwrap(), 0.0);
        assert!(t_two_sided_p(f64::NAN, 3.0).unwrap().is_nan());
        assert!(matches!(
            t_two_sided_p(1.0, 0.0),
            Err(AnalysisError::InvalidParameter { .. })
        ));
        assert!(matches!(
            t_two_sided_p(1.0, f64::NAN),
            Err(AnalysisError::InvalidParameter { .. })
        ));
    }

    #[test]
    fn t_p_tail_is_not_cancelled() {
        // df = 1, large t: 1 − 2atan(t)/π = 2atan(1/t)/π, computed without cancellation.
        let t = 1e9_f64;
        let exact = 2.0 * (1.0 / t).atan() / PI;
        assert_relative_eq!(t_two_sided_p(t, 1.0).unwrap(), exact, max_relative = 1e-8);
        // df = 2: 1 − t/√(2+t²) = 2 / (√(2+t²)(√(2+t²)+t)).
        let t = 1e6_f64;
        let s = (2.0 + t * t).sqrt();
        assert_relative_eq!(
            t_two_sided_p(t, 2.0).unwrap(),
            2.0 / (s * (s + t)),
            max_relative = 1e-8
        );
    }

    #[test]
    fn t_p_scipy_reference() {
        // scipy: 2*stats.t.sf(2.5, 7.3)
        assert_relative_eq!(
            t_two_sided_p(2.5, 7.3).unwrap(),
            0.03965023466560043,
            max_relative = TOL
        );
    }

    #[test]
    fn t_quantile_reference_and_closed_forms() {
        // scipy: stats.t.ppf(0.975, 8) and stats.t.ppf(0.975, 3.5)
        assert_relative_eq!(
            t_quantile(0.975, 8.0).unwrap(),
            2.306004135204166,
            max_relative = TOL
        );
        assert_relative_eq!(
            t_quantile(0.975, 3.5).unwrap(),
            2.9400886379827282,
            max_relative = TOL
        );
        // df = 1 (Cauchy): q(p) = tan(π(p − ½)).
        assert_relative_eq!(
            t_quantile(0.9, 1.0).unwrap(),
            (PI * 0.4).tan(),
            max_relative = TOL
        );
        // df = 2: q(p) = (2p − 1)·√(2 / (4p(1 − p))).
        let p = 0.975_f64;
        let q = (2.0 * p - 1.0) * (2.0 / (4.0 * p * (1.0 - p))).sqrt();
        assert_relative_eq!(t_quantile(p, 2.0).unwrap(), q, max_relative = TOL);
        assert!(t_quantile(0.0, 3.0).is_err());
        assert!(t_quantile(1.0, 3.0).is_err());
        assert!(t_quantile(0.5, -1.0).is_err());
    }

    #[test]
    fn f_p_closed_form_d1_2_and_references() {
        // F(2, d): P(F ≥ f) = (1 + 2f/d)^(−d/2).
        for &(f, d) in &[
            (0.3_f64, 5.0_f64),
            (1.0, 12.0),
            (4.5, 7.0),
            (60.0, 30.0),
            (500.0, 40.0),
        ] {
            let exact = (1.0 + 2.0 * f / d).powf(-d / 2.0);
            assert_relative_eq!(f_upper_p(f, 2.0, d).unwrap(), exact, max_relative = TOL);
        }
        // scipy: stats.f.sf(4.2, 3, 11) and stats.f.sf(60, 2, 30)
        assert_relative_eq!(
            f_upper_p(4.2, 3.0, 11.0).unwrap(),
            0.03294404107040691,
            max_relative = TOL
        );
        assert_relative_eq!(
            f_upper_p(60.0, 2.0, 30.0).unwrap(),
            3.276800000000003e-11,
            max_relative = TOL
        );
        // F(1, d) tail equals the two-sided t tail at √f.
        assert_relative_eq!(
            f_upper_p(6.25, 1.0, 9.0).unwrap(),
            t_two_sided_p(2.5, 9.0).unwrap(),
            max_relative = TOL
        );
        assert_eq!(f_upper_p(0.0, 2.0, 3.0).unwrap(), 1.0);
        assert!(f_upper_p(1.0, 0.0, 3.0).is_err());
    }

    // ---------------------------------------------------------------- t-tests

    #[test]
    fn one_sample_df1_closed_form() {
        // x = [1, 3], mu = 0: mean 2, SS = 2, sd = √2, se = √2/√2 = 1, t = 2, df = 1.
        let r = ttest_one_sample(&[1.0, 3.0], 0.0).unwrap();
        assert_relative_eq!(r.statistic, 2.0, epsilon = 1e-12);
        assert_eq!(r.df, 1.0);
        assert_relative_eq!(r.std_error, 1.0, epsilon = 1e-12);
        assert_relative_eq!(r.p_value, cauchy_p(2.0), max_relative = TOL);
    }

    #[test]
    fn one_sample_df2_closed_form() {
        // x = [2, 4, 6], mu = 2: mean 4, SS = 8, var = 4, sd = 2, se = 2/√3, t = √3, df = 2.
        let r = ttest_one_sample(&[2.0, 4.0, 6.0], 2.0).unwrap();
        let t = 3.0_f64.sqrt();
        assert_relative_eq!(r.statistic, t, max_relative = 1e-12);
        assert_eq!(r.df, 2.0);
        assert_relative_eq!(r.p_value, t2_p(t), max_relative = TOL);
        assert_relative_eq!(r.estimate, 2.0, epsilon = 1e-12);
    }

    #[test]
    fn one_sample_scipy_reference() {
        // scipy: stats.ttest_1samp(A, 5.0) -> (3.569625885346298, 0.009101473008820858), df 7
        let r = ttest_one_sample(&A, 5.0).unwrap();
        assert_relative_eq!(r.statistic, 3.569625885346298, max_relative = TOL);
        assert_relative_eq!(r.p_value, 0.009101473008820858, max_relative = TOL);
        assert_eq!(r.df, 7.0);
    }

    #[test]
    fn one_sample_tiny_p_scipy_reference() {
        // D = [10 + 0.01 i for i in -5..=5]
        // scipy: stats.ttest_1samp(D, 0.0) -> (1000.000000000005, 2.4608247101731456e-26)
        let d: Vec<f64> = (-5..=5).map(|i| 10.0 + 0.01 * i as f64).collect();
        let r = ttest_one_sample(&d, 0.0).unwrap();
        assert_relative_eq!(r.statistic, 1000.000000000005, max_relative = TOL);
        assert_relative_eq!(r.p_value, 2.4608247101731456e-26, max_relative = 1e-6);
    }

    #[test]
    fn paired_is_one_sample_on_differences_and_matches_scipy() {
        // scipy: stats.ttest_rel(A, A2) -> (3.8188130791298653, 0.006552357148335998), df 7
        let r = ttest_paired(&A, &A2).unwrap();
        assert_relative_eq!(r.statistic, 3.8188130791298653, max_relative = TOL);
        assert_relative_eq!(r.p_value, 0.006552357148335998, max_relative = TOL);
        let d: Vec<f64> = A.iter().zip(&A2).map(|(a, b)| a - b).collect();
        let o = ttest_one_sample(&d, 0.0).unwrap();
        assert_relative_eq!(r.statistic, o.statistic, max_relative = 1e-12);
        assert_relative_eq!(r.p_value, o.p_value, max_relative = 1e-12);
        // Two pairs: df = 1, Cauchy closed form. d = [1, 3] → t = 2.
        let r = ttest_paired(&[2.0, 5.0], &[1.0, 2.0]).unwrap();
        assert_relative_eq!(r.statistic, 2.0, epsilon = 1e-12);
        assert_relative_eq!(r.p_value, cauchy_p(2.0), max_relative = TOL);
    }

    #[test]
    fn student_closed_forms() {
        // x = [1, 3], y = [6]: df = 1, SSx = 2, SSy = 0, sp² = 2, se = √2·√(1/2 + 1) = √3, t = −4/√3.
        let r = ttest_student(&[1.0, 3.0], &[6.0]).unwrap();
        let t = -4.0 / 3.0_f64.sqrt();
        assert_eq!(r.df, 1.0);
        assert_relative_eq!(r.statistic, t, max_relative = 1e-12);
        assert_relative_eq!(r.p_value, cauchy_p(t), max_relative = TOL);
        // x = [1, 3], y = [4, 8]: df = 2, SS = 2 + 8 = 10, sp² = 5, se = √5, t = (2 − 6)/√5.
        let r = ttest_student(&[1.0, 3.0], &[4.0, 8.0]).unwrap();
        let t = -4.0 / 5.0_f64.sqrt();
        assert_eq!(r.df, 2.0);
        assert_relative_eq!(r.statistic, t, max_relative = 1e-12);
        assert_relative_eq!(r.p_value, t2_p(t), max_relative = TOL);
    }

    #[test]
    fn student_scipy_reference() {
        // scipy: stats.ttest_ind(A, B) -> (4.264994019125677, 0.000921182026337885), df 13
        let r = ttest_student(&A, &B).unwrap();
        assert_relative_eq!(r.statistic, 4.264994019125677, max_relative = TOL);
        assert_relative_eq!(r.p_value, 0.000921182026337885, max_relative = TOL);
        assert_eq!(r.df, 13.0);
    }

    #[test]
    fn welch_step_by_step() {
        // Hand computation for x = [1, 2, 3, 4], y = [2, 4, 6, 8, 10, 12].
        // x: mean 2.5, SS = 5, v1 = 5/3;   y: mean 7, SS = 70, v2 = 14.
        let (x, y) = ([1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
        let a: f64 = (5.0 / 3.0) / 4.0; // v1/n1
        let b: f64 = 14.0 / 6.0; // v2/n2
        let se = (a + b).sqrt();
        let t = (2.5 - 7.0) / se;
        let df = (a + b).powi(2) / (a * a / 3.0 + b * b / 5.0);
        let r = ttest_welch(&x, &y).unwrap();
        assert_relative_eq!(r.statistic, t, max_relative = 1e-12);
        assert_relative_eq!(r.df, df, max_relative = 1e-12);
        assert_relative_eq!(r.std_error, se, max_relative = 1e-12);
        // The p-value follows from the generic tail, checked in `t_p_*`.
        assert_relative_eq!(
            r.p_value,
            t_two_sided_p(t, df).unwrap(),
            max_relative = 1e-12
        );
    }

    #[test]
    fn welch_scipy_reference() {
        // scipy: stats.ttest_ind(A, B, equal_var=False)
        //   -> (4.327862832067941, 0.0008270783566779051), df 12.949407061453671
        let r = ttest_welch(&A, &B).unwrap();
        assert_relative_eq!(r.statistic, 4.327862832067941, max_relative = TOL);
        assert_relative_eq!(r.p_value, 0.0008270783566779051, max_relative = TOL);
        assert_relative_eq!(r.df, 12.949407061453671, max_relative = TOL);
        // scipy: stats.ttest_ind(B, C, equal_var=False)
        //   -> (-7.190868170591961, 0.0001462284957707061), df 7.299924834807079
        let r = ttest_welch(&B, &C).unwrap();
        assert_relative_eq!(r.statistic, -7.190868170591961, max_relative = TOL);
        assert_relative_eq!(r.p_value, 0.0001462284957707061, max_relative = TOL);
        assert_relative_eq!(r.df, 7.299924834807079, max_relative = TOL);
    }

    #[test]
    fn welch_with_one_constant_group_is_defined() {
        // y constant: se² = v1/n1, df = n1 − 1 → the one-sample test of x against mean(y).
        let x = [1.0, 2.0, 4.0, 7.0];
        let r = ttest_welch(&x, &[3.0, 3.0, 3.0]).unwrap();
        let o = ttest_one_sample(&x, 3.0).unwrap();
        assert_relative_eq!(r.df, 3.0, max_relative = 1e-12);
        assert_relative_eq!(r.statistic, o.statistic, max_relative = 1e-12);
        assert_relative_eq!(r.p_value, o.p_value, max_relative = 1e-12);
    }

    #[test]
    fn ttest_errors() {
        use AnalysisError::*;
        assert!(matches!(ttest_one_sample(&[], 0.0), Err(TooFew { .. })));
        assert!(matches!(
            ttest_one_sample(&[1.0], 0.0),
            Err(TooFew {
                needed: 2,
                got: 1,
                ..
            })
        ));
        assert!(matches!(
            ttest_one_sample(&[2.0, 2.0, 2.0], 0.0),
            Err(ZeroVariance { .. })
        ));
        assert!(matches!(
            ttest_one_sample(&[0.1, 0.1, 0.1, 0.1, 0.1], 0.0),
            Err(ZeroVariance { .. })
        ));
        assert!(matches!(
            ttest_one_sample(&[1.0, f64::NAN, 2.0], 0.0),
            Err(NonFinite { .. })
        ));
        assert!(matches!(
            ttest_one_sample(&[1.0, f64::INFINITY], 0.0),
            Err(NonFinite { .. })
        ));
        assert!(matches!(
            ttest_one_sample(&[1.0, 2.0], f64::NAN),
            Err(InvalidParameter { .. })
        ));

        assert!(matches!(
            ttest_paired(&[1.0, 2.0], &[1.0]),
            Err(ShapeMismatch { .. })
        ));
        assert!(matches!(ttest_paired(&[], &[]), Err(TooFew { .. })));
        assert!(matches!(ttest_paired(&[1.0], &[2.0]), Err(TooFew { .. })));
        assert!(matches!(
            ttest_paired(&[1.0, 2.0, 3.0], &[0.0, 1.0, 2.0]),
            Err(ZeroVariance { .. })
        ));
        assert!(matches!(
            ttest_paired(&[1.0, f64::NAN], &[0.0, 1.0]),
            Err(NonFinite { .. })
        ));

        assert!(matches!(
            ttest_student(&[], &[1.0, 2.0]),
            Err(TooFew { .. })
        ));
        assert!(matches!(
            ttest_student(&[1.0], &[2.0]),
            Err(TooFew { needed: 3, .. })
        ));
        assert!(matches!(
            ttest_student(&[1.0, 1.0], &[2.0, 2.0]),
            Err(ZeroVariance { .. })
        ));
        assert!(matches!(
            ttest_student(&[1.0, 2.0], &[f64::NAN, 2.0]),
            Err(NonFinite { .. })
        ));

        assert!(matches!(
            ttest_welch(&[1.0], &[1.0, 2.0]),
            Err(TooFew { .. })
        ));
        assert!(matches!(ttest_welch(&[1.0, 2.0], &[]), Err(TooFew { .. })));
        assert!(matches!(
            ttest_welch(&[1.0, 1.0], &[5.0, 5.0, 5.0]),
            Err(ZeroVariance { .. })
        ));
        assert!(matches!(
            ttest_welch(&[1.0, 2.0], &[f64::NEG_INFINITY, 2.0]),
            Err(NonFinite { .. })
        ));
        assert!(matches!(mean_sem(&[]), Err(TooFew { .. })));
        assert!(matches!(mean_sem(&[1.0]), Err(TooFew { .. })));
        assert!(matches!(mean_sem(&[1.0, f64::NAN]), Err(NonFinite { .. })));
    }

    // ---------------------------------------------------------------- ANOVA

    #[test]
    fn anova_two_groups_is_student_t_squared() {
        let a = anova_one_way(&[&A, &B]).unwrap();
        let t = ttest_student(&A, &B).unwrap();
        assert_eq!((a.df_between, a.df_within), (1, 13));
        assert_relative_eq!(a.f, t.statistic * t.statistic, max_relative = 1e-10);
        assert_relative_eq!(a.p_value, t.p_value, max_relative = 1e-8);
    }

    #[test]
    fn anova_three_groups_closed_form_and_scipy() {
        // scipy: stats.f_oneway(A, B, C) -> (26.474176383902524, 6.000772370607428e-06)
        let a = anova_one_way(&[&A, &B, &C]).unwrap();
        assert_relative_eq!(a.f, 26.474176383902524, max_relative = TOL);
        assert_relative_eq!(a.p_value, 6.000772370607428e-06, max_relative = TOL);
        assert_eq!((a.df_between, a.df_within), (2, 17));
        // Step by step: sums of squares from the definition.
        let groups: [&[f64]; 3] = [&A, &B, &C];
        let all: Vec<f64> = groups.iter().flat_map(|g| g.iter().copied()).collect();
        let grand = mean(&all);
        let ssb: f64 = groups
            .iter()
            .map(|g| g.len() as f64 * (mean(g) - grand).powi(2))
            .sum();
        let ssw: f64 = groups.iter().map(|g| var(g) * (g.len() as f64 - 1.0)).sum();
        let f = (ssb / 2.0) / (ssw / 17.0);
        assert_relative_eq!(a.ss_between, ssb, max_relative = 1e-12);
        assert_relative_eq!(a.ss_within, ssw, max_relative = 1e-12);
        assert_relative_eq!(a.f, f, max_relative = 1e-12);
        assert_relative_eq!(a.eta_squared, ssb / (ssb + ssw), max_relative = 1e-12);
        // F(2, d) closed form.
        assert_relative_eq!(
            a.p_value,
            (1.0 + 2.0 * f / 17.0).powf(-17.0 / 2.0),
            max_relative = TOL
        );
    }

    #[test]
    fn anova_errors() {
        use AnalysisError::*;
        assert!(matches!(anova_one_way(&[]), Err(TooFew { .. })));
        assert!(matches!(anova_one_way(&[&A]), Err(TooFew { .. })));
        assert!(matches!(anova_one_way(&[&A, &[]]), Err(TooFew { .. })));
        assert!(matches!(
            anova_one_way(&[&[1.0], &[2.0]]),
            Err(TooFew { .. })
        ));
        assert!(matches!(
            anova_one_way(&[&[1.0, 1.0], &[2.0, 2.0]]),
            Err(ZeroVariance { .. })
        ));
        assert!(matches!(
            anova_one_way(&[&[1.0, f64::NAN], &[2.0, 3.0]]),
            Err(NonFinite { .. })
        ));
        // Identical groups: F = 0, p = 1.
        let r = anova_one_way(&[&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]]).unwrap();
        assert_eq!(r.f, 0.0);
        assert_relative_eq!(r.p_value, 1.0, epsilon = 1e-12);
    }

    // ---------------------------------------------------------------- correlation

    const X10: [f64; 10] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
    const Y_STRONG: [f64; 10] = [2.1, 3.9, 6.2, 7.8, 9.9, 12.3, 13.8, 16.1, 18.2, 19.7];
    const Y_WEAK: [f64; 10] = [3.2, 1.1, 4.5, 2.2, 5.9, 3.3, 4.1, 6.8, 2.9, 5.5];

    #[test]
    fn pearson_scipy_reference() {
        // scipy: stats.pearsonr(X10, Y_STRONG) -> (0.999430973222176, 4.583658921699814e-13),
        //        .confidence_interval(0.95) -> (0.9974987293564922, 0.9998706458670419)
        let c = pearson(&X10, &Y_STRONG).unwrap();
        assert_relative_eq!(c.r, 0.999430973222176, max_relative = TOL);
        assert_relative_eq!(c.p_value, 4.583658921699814e-13, max_relative = 1e-7);
        let (lo, hi) = c.confidence_interval(0.95).unwrap();
        assert_relative_eq!(lo, 0.9974987293564922, max_relative = TOL);
        assert_relative_eq!(hi, 0.9998706458670419, max_relative = TOL);
        // scipy: stats.pearsonr(X10, Y_WEAK) -> (0.49897863723915187, 0.14205777330872568),
        //        .confidence_interval(0.95) -> (-0.19049571631409346, 0.8587967117232229)
        let c = pearson(&X10, &Y_WEAK).unwrap();
        assert_relative_eq!(c.r, 0.49897863723915187, max_relative = TOL);
        assert_relative_eq!(c.p_value, 0.14205777330872568, max_relative = TOL);
        let (lo, hi) = c.confidence_interval(0.95).unwrap();
        assert_relative_eq!(lo, -0.19049571631409346, max_relative = TOL);
        assert_relative_eq!(hi, 0.8587967117232229, max_relative = TOL);
        assert_eq!((c.n, c.df), (10, 8));
    }

    #[test]
    fn spearman_scipy_reference_with_ties() {
        // scipy 1.17: stats.spearmanr([1,2,2,3,5,8,8,8,10,4], [2,1,4,4,6,9,7,8,12,3])
        //   -> statistic 0.9167365318904005, pvalue 0.00018998903182347842
        let x = [1.0, 2.0, 2.0, 3.0, 5.0, 8.0, 8.0, 8.0, 10.0, 4.0];
        let y = [2.0, 1.0, 4.0, 4.0, 6.0, 9.0, 7.0, 8.0, 12.0, 3.0];
        let c = spearman(&x, &y).unwrap();
        assert_relative_eq!(c.r, 0.9167365318904005, max_relative = TOL);
        assert_relative_eq!(c.p_value, 0.00018998903182347842, max_relative = 1e-7);
        // scipy: stats.spearmanr([.1,.5,.3,.9,.7,.2,.8], [3,3,1,2,5,3,4])
        //   -> statistic 0.14824986333222026, pvalue 0.7510797526579065
        let x = [0.1, 0.5, 0.3, 0.9, 0.7, 0.2, 0.8];
        let y = [3.0, 3.0, 1.0, 2.0, 5.0, 3.0, 4.0];
        let c = spearman(&x, &y).unwrap();
        assert_relative_eq!(c.r, 0.14824986333222026, max_relative = TOL);
        assert_relative_eq!(c.p_value, 0.7510797526579065, max_relative = TOL);
    }

    #[test]
    fn spearman_is_one_for_any_increasing_map_and_rejects_all_ties() {
        let x: Vec<f64> = (0..20).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| (v * 0.3).exp() - 7.0).collect();
        assert_eq!(spearman(&x, &y).unwrap().r, 1.0);
        let rev: Vec<f64> = y.iter().map(|v| -v).collect();
        assert_eq!(spearman(&x, &rev).unwrap().r, -1.0);
        assert!(matches!(
            spearman(&x, &[4.0; 20]),
            Err(AnalysisError::ZeroVariance { .. })
        ));
    }

    #[test]
    fn pearson_closed_forms_small_n() {
        // n = 3, df = 1: x = [0, 1, 2], y = [0, 2, 1].
        // x̄ = 1, ȳ = 1; Sxy = (−1)(−1) + 0 + (1)(0) = 1; Sxx = 2; Syy = 2 → r = 1/2.
        let c = pearson(&[0.0, 1.0, 2.0], &[0.0, 2.0, 1.0]).unwrap();
        let t = 0.5 * (1.0_f64 / 0.75).sqrt();
        assert_relative_eq!(c.r, 0.5, epsilon = 1e-12);
        assert_relative_eq!(c.t, t, max_relative = 1e-12);
        assert_relative_eq!(c.p_value, cauchy_p(t), max_relative = TOL);
        // n = 4, df = 2: x = [0, 1, 2, 3], y = [1, 0, 3, 2].
        // x̄ = ȳ = 1.5; Sxy = 0.75·... computed: (−1.5)(−0.5)+(−0.5)(−1.5)+(0.5)(1.5)+(1.5)(0.5) = 3; Sxx = Syy = 5 → r = 0.6.
        let c = pearson(&[0.0, 1.0, 2.0, 3.0], &[1.0, 0.0, 3.0, 2.0]).unwrap();
        let t = 0.6 * (2.0_f64 / 0.64).sqrt();
        assert_relative_eq!(c.r, 0.6, epsilon = 1e-12);
        assert_relative_eq!(c.t, t, max_relative = 1e-12);
        assert_relative_eq!(c.p_value, t2_p(t), max_relative = TOL);
    }

    #[test]
    fn pearson_perfect_and_errors() {
        use AnalysisError::*;
        let c = pearson(&[1.0, 2.0, 3.0, 4.0], &[-2.0, -4.0, -6.0, -8.0]).unwrap();
        assert_eq!(c.r, -1.0);
        assert_eq!(c.t, f64::NEG_INFINITY);
        assert_eq!(c.p_value, 0.0);
        assert!(matches!(
            pearson(&[1.0, 2.0, 3.0], &[1.0, 2.0]),
            Err(ShapeMismatch { .. })
        ));
        assert!(matches!(pearson(&[], &[]), Err(TooFew { .. })));
        assert!(matches!(pearson(&[1.0], &[1.0]), Err(TooFew { .. })));
        assert!(matches!(
            pearson(&[1.0, 2.0], &[1.0, 3.0]),
            Err(TooFew { .. })
        ));
        assert!(matches!(
            pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]),
            Err(ZeroVariance { what: "x" })
        ));
        assert!(matches!(
            pearson(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0]),
            Err(ZeroVariance { what: "y" })
        ));
        assert!(matches!(
            pearson(&[1.0, f64::NAN, 3.0], &[1.0, 2.0, 3.0]),
            Err(NonFinite { .. })
        ));
        let c = pearson(&[0.0, 1.0, 2.0], &[0.0, 2.0, 1.0]).unwrap();
        assert!(matches!(c.confidence_interval(0.95), Err(TooFew { .. })));
        assert!(matches!(
            pearson(&X10, &Y_WEAK).unwrap().confidence_interval(1.0),
            Err(InvalidParameter { .. })
        ));
    }

    #[test]
    fn fisher_z_closed_form() {
        // atanh(r) = ½ ln((1+r)/(1−r)).
        for &r in &[-0.99, -0.5, 0.0, 0.3, 0.9] {
            let z = fisher_z(r).unwrap();
            assert_relative_eq!(
                z,
                0.5 * ((1.0 + r) / (1.0 - r)).ln(),
                max_relative = 1e-12,
                epsilon = 1e-15
            );
            assert_relative_eq!(fisher_z_inv(z), r, epsilon = 1e-12);
        }
        assert_eq!(fisher_z(1.0).unwrap(), f64::INFINITY);
        assert_eq!(fisher_z_inv(f64::NEG_INFINITY), -1.0);
        assert!(matches!(
            fisher_z(1.5),
            Err(AnalysisError::InvalidParameter { .. })
        ));
        assert!(matches!(
            fisher_z(f64::NAN),
            Err(AnalysisError::InvalidParameter { .. })
        ));
    }

    // ---------------------------------------------------------------- OLS

    // Design of the scipy/numpy OLS reference (SI on σ0, λ0, ρ).
    const S0: [f64; 14] = [
        0.5, 1.0, 1.5, 2.0, 0.5, 1.0, 1.5, 2.0, 0.5, 1.0, 1.5, 2.0, 0.8, 1.7,
    ];
    const L0: [f64; 14] = [
        0.9, 0.9, 0.9, 0.9, 1.0, 1.0, 1.0, 1.0, 1.1, 1.1, 1.1, 1.1, 0.95, 1.05,
    ];
    const RHO: [f64; 14] = [
        0.0, 0.5, 1.0, 0.0, 0.5, 1.0, 0.0, 0.5, 1.0, 0.0, 0.5, 1.0, 0.25, 0.75,
    ];
    const SI: [f64; 14] = [
        1.21, 1.55, 2.03, 1.62, 1.48, 2.10, 1.66, 2.31, 2.35, 1.49, 2.22, 2.74, 1.47, 2.28,
    ];

    fn regressors() -> Array2<f64> {
        Array2::from_shape_fn((14, 3), |(i, j)| [S0[i], L0[i], RHO[i]][j])
    }

    #[test]
    fn ols_numpy_scipy_reference() {
        // numpy: beta = np.linalg.lstsq(X, SI) with X = [1, S0, L0, RHO];
        // cov = s²·inv(XᵀX), s² = RSS/(n−k); p = 2*stats.t.sf(|β/se|, n−k);
        // band: x0 = [1, 1.2, 1.0, 0.6], fit ± stats.t.ppf(0.975, 10)·√(x0ᵀ cov x0).
        let fit = ols_with_intercept(regressors().view(), Array1::from(SI.to_vec()).view())
            .unwrap()
            .with_names(&["intercept", "sigma0", "lambda0", "rho"])
            .unwrap();
        let beta = [
            -0.9834362976978881,
            0.3681346578366447,
            2.06833885209713,
            0.6970011037527601,
        ];
        let se = [
            0.4177042218429711,
            0.05827252761867269,
            0.42504824269336855,
            0.08500964853867735,
        ];
        let t = [
            -2.3543843855798863,
            6.3174650711166445,
            4.866127287083593,
            8.199082289296154,
        ];
        let p = [
            0.04033785046411221,
            8.709570650607054e-05,
            0.0006553884680524696,
            9.488003023170091e-06,
        ];
        for j in 0..4 {
            assert_relative_eq!(fit.coefficients[j], beta[j], max_relative = TOL);
            assert_relative_eq!(fit.std_errors[j], se[j], max_relative = TOL);
            assert_relative_eq!(fit.t_values[j], t[j], max_relative = TOL);
            assert_relative_eq!(fit.p_values[j], p[j], max_relative = TOL);
        }
        assert_relative_eq!(fit.r_squared, 0.9470966403521558, max_relative = TOL);
        assert_relative_eq!(fit.adj_r_squared, 0.9312256324578025, max_relative = TOL);
        assert_relative_eq!(fit.sigma, 0.11825421100348502, max_relative = TOL);
        assert_eq!((fit.n, fit.residual_df), (14, 10));
        assert!(fit.has_intercept);
        let (f, lo, hi) = fit.confidence_band(&[1.0, 1.2, 1.0, 0.6]).unwrap();
        assert_relative_eq!(f, 1.9448648060548714, max_relative = TOL);
        assert_relative_eq!(lo, 1.8715595380533896, max_relative = TOL);
        assert_relative_eq!(hi, 2.0181700740563535, max_relative = TOL);
        // scipy: 2*stats.norm.sf(abs(t)) for the intercept and sigma0 t values above.
        let pz = fit.wald_z_p_values();
        assert_relative_eq!(pz[0], 0.018553414270209064, max_relative = TOL);
        assert_relative_eq!(pz[1], 2.6588850991612164e-10, max_relative = 1e-7);
        let rho = fit.coefficient("rho").unwrap();
        assert_relative_eq!(rho.estimate, beta[3], max_relative = TOL);
        assert!(fit.coefficient("nope").is_none());
        assert_eq!(fit.table().len(), 4);
    }

    #[test]
    fn ols_satisfies_normal_equations() {
        // XᵀX β = Xᵀy and Xᵀe = 0, computed here by plain loops.
        let x = regressors();
        let fit = ols_with_intercept(x.view(), Array1::from(SI.to_vec()).view()).unwrap();
        let design: Vec<[f64; 4]> = (0..14).map(|i| [1.0, S0[i], L0[i], RHO[i]]).collect();
        for a in 0..4 {
            let lhs: f64 = (0..4)
                .map(|b| design.iter().map(|r| r[a] * r[b]).sum::<f64>() * fit.coefficients[b])
                .sum();
            let rhs: f64 = design.iter().zip(&SI).map(|(r, y)| r[a] * y).sum();
            assert_relative_eq!(lhs, rhs, max_relative = 1e-10);
            let xte: f64 = design
                .iter()
                .zip(&fit.residuals)
                .map(|(r, e)| r[a] * e)
                .sum();
            assert!(xte.abs() < 1e-10, "Xᵀe[{a}] = {xte}");
        }
        // Residuals and RSS.
        for i in 0..14 {
            let yhat: f64 = (0..4).map(|j| design[i][j] * fit.coefficients[j]).sum();
            assert_relative_eq!(fit.residuals[i], SI[i] - yhat, epsilon = 1e-12);
        }
        let rss: f64 = fit.residuals.iter().map(|e| e * e).sum();
        assert_relative_eq!(fit.rss, rss, max_relative = 1e-12);
        assert_relative_eq!(fit.sigma, (rss / 10.0).sqrt(), max_relative = 1e-12);
    }

    #[test]
    fn ols_with_explicit_intercept_column_matches_helper() {
        let d = Array2::from_shape_fn((14, 4), |(i, j)| [1.0, S0[i], L0[i], RHO[i]][j]);
        let y = Array1::from(SI.to_vec());
        let a = ols(d.view(), y.view()).unwrap();
        let b = ols_with_intercept(regressors().view(), y.view()).unwrap();
        assert_eq!(a.names, ["x0", "x1", "x2", "x3"]);
        assert_eq!(b.names, ["intercept", "x1", "x2", "x3"]);
        for j in 0..4 {
            assert_relative_eq!(a.coefficients[j], b.coefficients[j], max_relative = 1e-12);
            assert_relative_eq!(a.std_errors[j], b.std_errors[j], max_relative = 1e-12);
        }
        assert!(a.has_intercept);
    }

    #[test]
    fn simple_regression_closed_form_and_pearson() {
        // slope = Sxy/Sxx, intercept = ȳ − slope·x̄, SE(slope) = σ̂/√Sxx,
        // SE(intercept) = σ̂·√(1/n + x̄²/Sxx); the Wald t of the slope equals Pearson's t.
        let (x, y) = (&X10, &Y_WEAK);
        let n = x.len() as f64;
        let (mx, my) = (mean(x), mean(y));
        let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
        let sxy: f64 = x
            .iter()
            .zip(y.iter())
            .map(|(a, b)| (a - mx) * (b - my))
            .sum();
        let syy: f64 = y.iter().map(|v| (v - my).powi(2)).sum();
        let slope = sxy / sxx;
        let icpt = my - slope * mx;
        let rss: f64 = x
            .iter()
            .zip(y.iter())
            .map(|(a, b)| (b - icpt - slope * a).powi(2))
            .sum();
        let sigma = (rss / (n - 2.0)).sqrt();
        let fit = simple_linear_regression(x, y).unwrap();
        assert_eq!(fit.names, ["intercept", "slope"]);
        assert_relative_eq!(fit.coefficients[1], slope, max_relative = 1e-12);
        assert_relative_eq!(fit.coefficients[0], icpt, max_relative = 1e-12);
        assert_relative_eq!(fit.std_errors[1], sigma / sxx.sqrt(), max_relative = 1e-10);
        assert_relative_eq!(
            fit.std_errors[0],
            sigma * (1.0 / n + mx * mx / sxx).sqrt(),
            max_relative = 1e-10
        );
        assert_relative_eq!(fit.r_squared, sxy * sxy / (sxx * syy), max_relative = 1e-10);
        let c = pearson(x, y).unwrap();
        assert_relative_eq!(fit.t_values[1], c.t, max_relative = 1e-10);
        assert_relative_eq!(fit.p_values[1], c.p_value, max_relative = 1e-10);
        assert_relative_eq!(fit.r_squared, c.r * c.r, max_relative = 1e-10);
        // Covariance of (intercept, slope): −x̄·σ̂²/Sxx.
        assert_relative_eq!(
            fit.covariance[[0, 1]],
            -mx * sigma * sigma / sxx,
            max_relative = 1e-10
        );
        assert_relative_eq!(
            fit.covariance[[1, 0]],
            fit.covariance[[0, 1]],
            max_relative = 1e-12
        );
    }

    #[test]
    fn confidence_band_closed_form_and_conf_int() {
        // Simple regression: band half-width = q·σ̂·√(1/n + (x0 − x̄)²/Sxx), q = t_{0.975, n−2}
        // (t_{0.975, 8} = 2.306004135204166 from scipy stats.t.ppf(0.975, 8)).
        let (x, y) = (&X10, &Y_WEAK);
        let fit = simple_linear_regression(x, y).unwrap();
        let mx = mean(x);
        let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
        let q = 2.306004135204166;
        for &x0 in &[0.0, 5.5, 7.0, 15.0] {
            let (f, lo, hi) = fit.confidence_band(&[1.0, x0]).unwrap();
            let half = q * fit.sigma * (0.1 + (x0 - mx).powi(2) / sxx).sqrt();
            assert_relative_eq!(
                f,
                fit.coefficients[0] + fit.coefficients[1] * x0,
                max_relative = 1e-12
            );
            assert_relative_eq!(hi - f, half, max_relative = TOL);
            assert_relative_eq!(f - lo, half, max_relative = TOL);
        }
        let ci = fit.conf_int(0.95).unwrap();
        for ((&(lo, hi), &b), &se) in ci.iter().zip(&fit.coefficients).zip(&fit.std_errors) {
            assert_relative_eq!(hi - b, q * se, max_relative = TOL);
            assert_relative_eq!(b - lo, q * se, max_relative = TOL);
        }
        // Band at a unit row is the coefficient CI.
        let (_, lo, hi) = fit.confidence_band(&[0.0, 1.0]).unwrap();
        assert_relative_eq!(lo, ci[1].0, max_relative = 1e-12);
        assert_relative_eq!(hi, ci[1].1, max_relative = 1e-12);
        assert!(matches!(
            fit.confidence_band(&[1.0]),
            Err(AnalysisError::ShapeMismatch { .. })
        ));
        assert!(matches!(
            fit.confidence_band(&[1.0, f64::NAN]),
            Err(AnalysisError::NonFinite { .. })
        ));
        assert!(matches!(
            fit.confidence_band_level(&[1.0, 1.0], 1.5),
            Err(AnalysisError::InvalidParameter { .. })
        ));
        assert!(matches!(
            fit.conf_int(0.0),
            Err(AnalysisError::InvalidParameter { .. })
        ));
    }

    #[test]
    fn ols_without_intercept_uses_uncentred_r2() {
        // y = b·x through the origin: b = Σxy/Σx², R² = 1 − RSS/Σy², df = n − 1.
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [1.1, 1.9, 3.2, 3.9];
        let sxy: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
        let sxx: f64 = x.iter().map(|a| a * a).sum();
        let syy: f64 = y.iter().map(|a| a * a).sum();
        let b = sxy / sxx;
        let rss: f64 = x.iter().zip(&y).map(|(a, c)| (c - b * a).powi(2)).sum();
        let d = Array2::from_shape_vec((4, 1), x.to_vec()).unwrap();
        let fit = ols(d.view(), Array1::from(y.to_vec()).view()).unwrap();
        assert!(!fit.has_intercept);
        assert_eq!(fit.residual_df, 3);
        assert_relative_eq!(fit.coefficients[0], b, max_relative = 1e-12);
        assert_relative_eq!(fit.r_squared, 1.0 - rss / syy, max_relative = 1e-12);
        assert_relative_eq!(
            fit.adj_r_squared,
            1.0 - (rss / syy) * 4.0 / 3.0,
            max_relative = 1e-12
        );
        assert_relative_eq!(
            fit.std_errors[0],
            (rss / 3.0 / sxx).sqrt(),
            max_relative = 1e-10
        );
    }

    #[test]
    fn ols_exact_fit_and_constant_response() {
        // Exact fit: RSS = 0, SE = 0, t = ±∞, p = 0 (documented).
        let fit = simple_linear_regression(&[1.0, 2.0, 3.0, 4.0], &[3.0, 5.0, 7.0, 9.0]).unwrap();
        assert_relative_eq!(fit.coefficients[1], 2.0, epsilon = 1e-12);
        assert_relative_eq!(fit.r_squared, 1.0, epsilon = 1e-12);
        assert!(
            fit.p_values
                .iter()
                .all(|p| *p == 0.0 || p.is_nan() || *p < 1e-12)
        );
        // Constant response with intercept: TSS = 0, R² is NaN (documented).
        let fit = simple_linear_regression(&[1.0, 2.0, 3.0, 4.0], &[2.0, 2.0, 2.0, 2.0]).unwrap();
        assert!(fit.r_squared.is_nan() && fit.adj_r_squared.is_nan());
    }

    #[test]
    fn ols_errors() {
        use AnalysisError::*;
        let y3 = Array1::from(vec![1.0, 2.0, 3.0]);
        // Shape mismatch.
        let d = Array2::<f64>::ones((4, 2));
        assert!(matches!(
            ols(d.view(), y3.view()),
            Err(ShapeMismatch { .. })
        ));
        // Empty design / no columns / too few rows.
        let empty = Array2::<f64>::zeros((0, 2));
        assert!(matches!(
            ols(empty.view(), Array1::<f64>::zeros(0).view()),
            Err(TooFew { .. })
        ));
        let nocols = Array2::<f64>::zeros((3, 0));
        assert!(matches!(ols(nocols.view(), y3.view()), Err(TooFew { .. })));
        let square =
            Array2::from_shape_vec((3, 3), vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
                .unwrap();
        assert!(matches!(
            ols(square.view(), y3.view()),
            Err(TooFew {
                needed: 4,
                got: 3,
                ..
            })
        ));
        // Singular designs: zero column, duplicated column, exact linear combination.
        let y5 = Array1::from(vec![1.0, 3.0, 2.0, 5.0, 4.0]);
        let zero_col =
            Array2::from_shape_fn((5, 2), |(i, j)| if j == 0 { 1.0 } else { 0.0 * i as f64 });
        assert!(matches!(
            ols(zero_col.view(), y5.view()),
            Err(Numerical { .. })
        ));
        let dup = Array2::from_shape_fn((5, 3), |(i, j)| if j == 0 { 1.0 } else { i as f64 * 0.1 });
        assert!(matches!(ols(dup.view(), y5.view()), Err(Numerical { .. })));
        let combo = Array2::from_shape_fn((5, 3), |(i, j)| {
            let (a, b) = (0.3 * i as f64, (i * i) as f64 * 0.7);
            [a, b, a + b][j]
        });
        assert!(matches!(
            ols(combo.view(), y5.view()),
            Err(Numerical { .. })
        ));
        let const_reg = Array2::from_elem((5, 1), 2.0);
        assert!(matches!(
            ols_with_intercept(const_reg.view(), y5.view()),
            Err(Numerical { .. })
        ));
        // NaN.
        let mut dn = Array2::from_shape_fn((5, 2), |(i, j)| if j == 0 { 1.0 } else { i as f64 });
        assert!(matches!(
            ols(
                dn.view(),
                Array1::from(vec![1.0, f64::NAN, 2.0, 3.0, 4.0]).view()
            ),
            Err(NonFinite { .. })
        ));
        dn[[2, 1]] = f64::NAN;
        assert!(matches!(ols(dn.view(), y5.view()), Err(NonFinite { .. })));
        // Simple regression.
        assert!(matches!(
            simple_linear_regression(&[1.0, 2.0], &[1.0]),
            Err(ShapeMismatch { .. })
        ));
        assert!(matches!(
            simple_linear_regression(&[], &[]),
            Err(TooFew { .. })
        ));
        assert!(matches!(
            simple_linear_regression(&[1.0, 2.0], &[1.0, 2.0]),
            Err(TooFew { .. })
        ));
        assert!(matches!(
            simple_linear_regression(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]),
            Err(ZeroVariance { .. })
        ));
        assert!(matches!(
            simple_linear_regression(&[1.0, 2.0, f64::NAN], &[1.0, 2.0, 3.0]),
            Err(NonFinite { .. })
        ));
        // Names.
        let fit = simple_linear_regression(&X10, &Y_WEAK).unwrap();
        assert!(matches!(fit.with_names(&["a"]), Err(ShapeMismatch { .. })));
    }

    // ---------------------------------------------------------------- properties

    fn sample(min: usize, max: usize) -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(-100.0..100.0_f64, min..max)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn pearson_invariant_to_positive_affine_maps(
            xy in (3usize..40).prop_flat_map(|n| (prop::collection::vec(-100.0..100.0_f64, n), prop::collection::vec(-100.0..100.0_f64, n))),
            a in 0.01..50.0_f64, b in -1e3..1e3_f64, c in 0.01..50.0_f64, d in -1e3..1e3_f64,
        ) {
            let (x, y) = xy;
            let Ok(r0) = pearson(&x, &y) else { return Ok(()) };
            let x2: Vec<f64> = x.iter().map(|v| a * v + b).collect();
            let y2: Vec<f64> = y.iter().map(|v| c * v + d).collect();
            let r1 = pearson(&x2, &y2).unwrap();
            prop_assert!((r0.r - r1.r).abs() < 1e-9, "{} vs {}", r0.r, r1.r);
            // A negative slope on one variable flips the sign.
            let y3: Vec<f64> = y.iter().map(|v| -c * v + d).collect();
            let r2 = pearson(&x2, &y3).unwrap();
            prop_assert!((r0.r + r2.r).abs() < 1e-9);
            prop_assert!((0.0..=1.0).contains(&r0.p_value));
            prop_assert!((-1.0..=1.0).contains(&r0.r));
        }

        #[test]
        fn ttest_p_values_in_unit_interval(x in sample(2, 30), y in sample(2, 30), mu in -200.0..200.0_f64) {
            for r in [ttest_one_sample(&x, mu), ttest_welch(&x, &y), ttest_student(&x, &y)].into_iter().flatten() {
                prop_assert!((0.0..=1.0).contains(&r.p_value), "p = {}", r.p_value);
                prop_assert!(r.df > 0.0);
            }
            let n = x.len().min(y.len());
            if let Ok(r) = ttest_paired(&x[..n], &y[..n]) {
                prop_assert!((0.0..=1.0).contains(&r.p_value));
            }
        }

        #[test]
        fn welch_equals_student_for_equal_n_and_variance(
            x in prop::collection::vec(-1000i32..1000, 2..30), shift in -5000i32..5000,
        ) {
            // y = x + shift on integers: the two samples have exactly equal size and variance,
            // so Welch's df is 2n − 2 and both statistics coincide.
            let xf: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let yf: Vec<f64> = x.iter().map(|&v| (v + shift) as f64).collect();
            let (Ok(w), Ok(s)) = (ttest_welch(&xf, &yf), ttest_student(&xf, &yf)) else {
                prop_assert!(x.iter().all(|&v| v == x[0]));
                return Ok(());
            };
            prop_assert!((w.df - s.df).abs() < 1e-9 * s.df, "df {} vs {}", w.df, s.df);
            prop_assert!((w.statistic - s.statistic).abs() <= 1e-9 * s.statistic.abs().max(1.0));
            prop_assert!((w.p_value - s.p_value).abs() <= 1e-9);
        }

        #[test]
        fn fisher_z_round_trip(r in -0.999..0.999_f64) {
            prop_assert!((fisher_z_inv(fisher_z(r).unwrap()) - r).abs() < 1e-12);
        }

        #[test]
        fn anova_two_groups_matches_student(x in sample(2, 20), y in sample(2, 20)) {
            if let (Ok(a), Ok(t)) = (anova_one_way(&[&x, &y]), ttest_student(&x, &y)) {
                prop_assert!((a.f - t.statistic * t.statistic).abs() <= 1e-8 * a.f.max(1.0));
                prop_assert!((a.p_value - t.p_value).abs() <= 1e-8);
            }
        }
    }
}
