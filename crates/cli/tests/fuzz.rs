//! Structured fuzzing with fixed seeds (the generators of `wm_tests::fuzz`):
//! spike CSVs with a valid header and random rows, `.npy` files with a valid
//! magic and header and random dtype, shape and body, safetensors files with
//! random dtypes, shapes, names and metadata, damaged checkpoints, and every
//! study's config with hostile values through its real loader. wm must
//! answer each with success or one line on stderr and exit 1: no panic, no
//! abort. `cargo xtask fuzz --minutes N` runs the same generators longer.

use std::path::Path;

#[test]
fn hostile_inputs_get_one_line_errors_never_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let wm = Path::new(env!("CARGO_BIN_EXE_wm"));
    let mut total = 0;
    for seed in [1u64, 2, 3] {
        let scratch = dir.path().join(seed.to_string());
        std::fs::create_dir_all(&scratch).unwrap();
        let report = wm_tests::fuzz::run(wm, &scratch, seed, 150, None);
        assert!(
            report.failures.is_empty(),
            "seed {seed}: {} of {} cases failed:\n{}",
            report.failures.len(),
            report.cases,
            report.failures.join("\n")
        );
        assert_eq!(report.cases, 150);
        assert!(
            report.per_kind.iter().all(|&(_, n)| n > 0),
            "{:?}",
            report.per_kind
        );
        total += report.cases;
    }
    assert_eq!(total, 450);
}
