//! Federer & Zylberberg, "A self-organizing short-term dynamical memory
//! network" (original code: github.com/cfederer/SOMN): the rate network
//! with the three-factor rule against constant random synapses and FEVER, its robustness to noise,
//! partial plasticity and connectivity, pre-training, several read-outs,
//! random and binary feedback, delayed feedback, the LIF version and a large
//! network. The simulations are `wm-plasticity`'s; this module runs the
//! experiments listed in `experiments/federer-zylberberg/<scale>.toml`
//! ([`config`]), averages them ([`run`]) and writes the report ([`report`]).

pub mod config;
pub mod report;
pub mod run;
