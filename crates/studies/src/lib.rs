//! # wm-studies
//!
//! The published studies as end-to-end pipelines: read an experiment config,
//! expand its grid of networks, train them (one network per core), analyse
//! them with `wm-analysis`, fit the studies' statistics, draw the figures and
//! write `summary.toml`, tables and `REPORT.md`.
//!
//! Every study implements [`study::Study`]: a typed outcome computed first,
//! then statistics, tables, figures and report read from it, all run by one
//! driver ([`study::run`]). `cargo xtask reproduce`, `wm sweep` and the tests
//! reach the studies through the registry [`STUDIES`], so a cluster sweep and
//! a laptop run share one code path and adding a study is one module plus one
//! registry line.
#![deny(missing_docs)]

pub mod federer_zylberberg;
pub mod io;
pub mod kim_sejnowski;
pub mod limits;
pub mod orhan_ma;
pub mod pace;
pub mod regress;
pub mod study;
pub mod sweep;
pub mod xie;

/// Every study wm reproduces, in the order `cargo xtask reproduce all` runs
/// them.
pub static STUDIES: &[&dyn study::Entry] = &[
    &study::Registered::<orhan_ma::OrhanMa>::ENTRY,
    &study::Registered::<xie::Xie>::ENTRY,
    &study::Registered::<kim_sejnowski::KimSejnowski>::ENTRY,
    &study::Registered::<federer_zylberberg::FedererZylberberg>::ENTRY,
];
