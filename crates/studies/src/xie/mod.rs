//! Xie, Liu, Constantinidis & Zhou 2022 (Front. Syst. Neurosci. 16:760864):
//! leaky softplus RNNs trained on ODR (fixed 3-s or variable delay), ODR
//! with a distractor and four anti-saccade tasks, analysed at three training
//! stages for the neural correlates of working-memory accuracy
//! (Xie et al. 2022; their code: github.com/maiziezhoulab/RNN_workingmemoryaccuracy).

pub mod config;
pub mod measures;
pub mod run;
pub mod train;
