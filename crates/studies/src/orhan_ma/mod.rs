//! Orhan & Ma 2019: "A diverse range of factors affect the nature of neural
//! representations underlying short-term memory" (Nat. Neurosci. 22:275).

pub mod aggregate;
pub mod banded;
pub mod config;
pub mod figures;
pub mod grid;
pub mod network;
pub mod report;
pub mod run;
pub mod train;
pub mod untrained;
