//! wm-analysis
