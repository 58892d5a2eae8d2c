//! Time batch generation: `cargo run --release -p wm-tasks --example bench_batch`.
use rand::SeedableRng;
use wm_tasks::orhan_ma::TaskVariant;
use wm_tasks::{OrhanMaTaskOptions, TaskRng, orhan_ma_task};

fn main() {
    for v in [TaskVariant::Basic, TaskVariant::DynamicInput] {
        for name in ["DE-1", "DE-2", "CD", "2AFC", "COMP", "GDE"] {
            let t = orhan_ma_task(name, &OrhanMaTaskOptions::with_variant(v)).unwrap();
            let mut r = TaskRng::seed_from_u64(1);
            let start = std::time::Instant::now();
            for _ in 0..20 {
                std::hint::black_box(t.batch(&mut r, 50));
            }
            let ms = start.elapsed().as_secs_f64() * 1e3 / 20.0;
            println!("{name} {v:?}: {ms:.2} ms per batch of 50");
        }
    }
}
