//! The `wm` command line.
fn main() {
    println!("wm {}", env!("CARGO_PKG_VERSION"));
}
