//! # wm-studies
//!
//! The published studies as end-to-end pipelines: read an experiment config,
//! expand its grid of networks, train them (one network per core), analyse
//! them with `wm-analysis`, fit the studies' statistics, draw the figures and
//! write `summary.toml`, tables and `REPORT.md`.
//!
//! `cargo xtask reproduce` and the `wm` command line call these same
//! functions, so a cluster sweep and a laptop run share one code path.
#![deny(missing_docs)]

pub mod federer_zylberberg;
pub mod io;
pub mod kim_sejnowski;
pub mod limits;
pub mod orhan_ma;
pub mod regress;
pub mod sweep;
pub mod xie;
