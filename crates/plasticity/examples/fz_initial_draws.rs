//! Statistics of the initial rate networks over many seeds (Federer &
//! Zylberberg, Methods: a(0) ~ N(0, 1), d = |N(0, 1)|, L_ij ~ N(0, g²/N) with
//! no self-connections), for comparison with another implementation's draws.
//!
//! `cargo run --release -p wm-plasticity --example fz_initial_draws -- SEEDS N DUMP_SEEDS OUT_DIR [RATIO_SEEDS [CONNECTIVITY]]`
//!
//! Writes `OUT_DIR/wm_init_N.csv` (one row per seed 0…SEEDS−1: moments of
//! a(0), d and L, ŝ(0) and the rule gain κ), `OUT_DIR/wm_L_N.f64` (L of the
//! first DUMP_SEEDS seeds, row-major little-endian f64, for an eigenvalue
//! spectrum computed elsewhere) and, with RATIO_SEEDS > 0,
//! `OUT_DIR/wm_ratio_N.csv`: the plastic ŝ(t)/ŝ(0) at 100 ms and at the last
//! sample of a 3-s run for seeds 0…RATIO_SEEDS−1, at connection probability
//! CONNECTIVITY (default 1; Fig. 5), written to `wm_ratio_N.csv` at 1 and
//! `wm_ratio_N_pP.csv` otherwise.

use std::fmt::Write as _;
use std::io::Write as _;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wm_plasticity::rate::{RateNetwork, RateParams, simulate};

fn mean_sd(x: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = x.clone().count() as f64;
    let m = x.clone().sum::<f64>() / n;
    let v = x.map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: fz_initial_draws SEEDS N DUMP_SEEDS OUT_DIR [RATIO_SEEDS [CONNECTIVITY]]";
    let seeds: u64 = args.get(1).and_then(|s| s.parse().ok()).expect(usage);
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).expect(usage);
    let dump: u64 = args.get(3).and_then(|s| s.parse().ok()).expect(usage);
    let out = std::path::PathBuf::from(args.get(4).expect(usage));
    let ratio_seeds: u64 = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(0);
    let connectivity: f64 = args.get(6).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    std::fs::create_dir_all(&out).expect("create OUT_DIR");
    let params = RateParams {
        n_units: n,
        ..RateParams::default()
    };
    let mut csv = String::from(
        "seed,a_mean,a_sd,frac_active,d_mean,d_sd,d_norm,s0,l_off_mean,l_off_sd,l_frob,l_diag_max_abs,tr_l2_over_n,row_sum_sd,kappa\n",
    );
    let mut dump_file =
        std::io::BufWriter::new(std::fs::File::create(out.join(format!("wm_L_{n}.f64"))).unwrap());
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let net = RateNetwork::new(&params, &mut rng).expect("valid parameters");
        let a = net.activity();
        let d = net.readout();
        let l = net.weights();
        let (a_mean, a_sd) = mean_sd(a.iter().copied());
        let frac_active = a.iter().filter(|&&x| x > 0.0).count() as f64 / n as f64;
        let (d_mean, d_sd) = mean_sd(d.iter().copied());
        let d_norm = d.iter().map(|x| x * x).sum::<f64>().sqrt();
        let s0 = net.s_hat()[0];
        let off = (0..n * n).filter(|ij| ij / n != ij % n).map(|ij| l[ij]);
        let (l_off_mean, l_off_sd) = mean_sd(off);
        let l_frob = l.iter().map(|x| x * x).sum::<f64>().sqrt();
        let l_diag = (0..n).map(|i| l[i * n + i].abs()).fold(0.0, f64::max);
        let mut tr2 = 0.0;
        for i in 0..n {
            for j in 0..n {
                tr2 += l[i * n + j] * l[j * n + i];
            }
        }
        let (_, row_sum_sd) = mean_sd((0..n).map(|i| l[i * n..(i + 1) * n].iter().sum::<f64>()));
        let kappa = net.rule_gain();
        let _ = writeln!(
            csv,
            "{seed},{a_mean},{a_sd},{frac_active},{d_mean},{d_sd},{d_norm},{s0},{l_off_mean},{l_off_sd},{l_frob},{l_diag},{},{row_sum_sd},{kappa}",
            tr2 / n as f64
        );
        if seed < dump {
            for x in l {
                dump_file.write_all(&x.to_le_bytes()).unwrap();
            }
        }
    }
    std::fs::write(out.join(format!("wm_init_{n}.csv")), csv).unwrap();
    if ratio_seeds > 0 {
        let params = RateParams {
            connectivity,
            ..params
        };
        let rows: Vec<String> =
            wm_plasticity::ensemble::par_runs(&(0..ratio_seeds).collect::<Vec<_>>(), |seed| {
                let tr = simulate(&params, seed, 3000.0).expect("valid run");
                let r = tr.ratio(0);
                format!("{seed},{},{},{}", r[100], r[r.len() - 1], tr.s_hat[0][0])
            });
        let body = format!("seed,ratio_100ms,ratio_end,s0\n{}\n", rows.join("\n"));
        let name = if connectivity < 1.0 {
            format!("wm_ratio_{n}_p{connectivity}.csv")
        } else {
            format!("wm_ratio_{n}.csv")
        };
        std::fs::write(out.join(name), body).unwrap();
    }
}
