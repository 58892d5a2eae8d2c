//! What a reader sees: tick labels without spurious decimals, integer axes
//! with integer ticks only, a labelled colour bar at the axes' font size,
//! and the model crates free of the plotting crate.

use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use wm_plot::style::{AXIS_LABEL_FONT_PX, MAX_TICKS, TICK_FONT_PX};
use wm_plot::*;

#[test]
fn integer_axes_print_integers_and_real_axes_their_decimals() {
    assert_eq!(Ticks::Integer.format(20.0, 0.0, 150.0), "20");
    assert_eq!(Ticks::Integer.format(-3.0, -5.0, 5.0), "-3");
    // An integer axis never labels a tick between two integers.
    assert_eq!(Ticks::Integer.format(2.5, 0.0, 5.0), "");
    assert_eq!(Ticks::Real.format(0.25, 0.0, 1.0), "0.25");
    assert_eq!(Ticks::Real.format(20.0, 0.0, 150.0), "20");
    assert_eq!(Ticks::Real.format(-150.0, -180.0, 180.0), "-150");
    assert_eq!(Ticks::Real.format(0.1 + 0.2, 0.0, 1.0), "0.3");
    assert_eq!(Ticks::Real.format(-0.0, -1.0, 1.0), "0");
    // Rounding noise just below zero must not read "-0".
    assert_eq!(Ticks::Real.format(-1e-17, -0.8, 0.2), "0");
    assert_eq!(Ticks::Real.format(0.0005, 0.0, 0.001), "0.0005");
    assert_eq!(Ticks::Real.format(0.00795, 0.0079, 0.0084), "0.00795");
    assert_eq!(Ticks::Real.format(1250.0, -125.0, 1900.0), "1250");
    assert_eq!(Ticks::Real.format(f64::NAN, 0.0, 1.0), "");
}

#[test]
fn integer_axes_get_ticks_at_integers_only() {
    // plotters chooses the ticks from the count we ask for; on every span,
    // short or long, offset or not, they must all be integers.
    let mut spans = vec![
        (-0.5, 0.5),
        (-0.5, 3.5),
        (0.0, 7.0),
        (-0.3, 3.3),
        (0.0, 150.0),
    ];
    spans.extend((1..60).map(|k| (-0.5, k as f64 * 1.7 - 0.5)));
    spans.extend((1..30).map(|k| (-(k as f64) * 0.9, k as f64 * 2.3)));
    for (lo, hi) in spans {
        let n = Ticks::Integer.label_count(lo, hi);
        assert!((1..=MAX_TICKS).contains(&n), "{lo}..{hi}: {n} labels");
        let coord: RangedCoordf64 = (lo..hi).into();
        let ticks = coord.key_points(n);
        assert!(
            ticks.iter().all(|t| (t - t.round()).abs() < 1e-9),
            "{lo}..{hi}: non-integer ticks {ticks:?}"
        );
        if hi - lo >= 2.0 {
            assert!(ticks.len() >= 2, "{lo}..{hi}: ticks {ticks:?}");
        }
    }
}

/// The `<text>` elements of an SVG: (font size, content).
fn svg_texts(svg: &str) -> Vec<(f64, String)> {
    svg.split("<text")
        .skip(1)
        .map(|t| {
            let size = t
                .split("font-size=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0);
            let body = t
                .split_once('>')
                .and_then(|(_, b)| b.split("</text>").next())
                .unwrap_or("")
                .trim()
                .to_string();
            (size, body)
        })
        .collect()
}

#[test]
fn the_colour_bar_is_labelled_and_its_ticks_as_large_as_the_axes() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<Vec<f64>> = (0..10)
        .map(|i| (0..12).map(|j| (i + j) as f64 / 21.0).collect())
        .collect();
    let map = Heatmap {
        values,
        x_extent: (-0.5, 11.5),
        y_extent: (-0.5, 9.5),
        scale: ColorScale::Sequential { lo: 0.0, hi: 1.0 },
        value_label: "rate / peak rate".into(),
    };
    let svg = dir.path().join("h.svg");
    let axes = Axes::new("sorted activity", "time step", "unit")
        .integer_x()
        .integer_y();
    heatmap(&svg, &axes, &map).unwrap();
    let texts = svg_texts(&std::fs::read_to_string(&svg).unwrap());
    assert!(
        texts.iter().any(|(_, t)| t == "rate / peak rate"),
        "no colour bar label in {texts:?}"
    );
    // The colour bar's ticks over 0..1 and the axes' integer ticks.
    for label in ["0.2", "0.8", "1", "10"] {
        assert!(
            texts.iter().any(|(_, t)| t == label),
            "no tick label {label} in {texts:?}"
        );
    }
    // The SVG backend scales pixel sizes to its own unit; compare ratios.
    let size_of = |label: &str| texts.iter().find(|(_, t)| t == label).unwrap().0;
    let axis_desc = size_of("unit");
    assert_eq!(size_of("time step"), axis_desc);
    assert_eq!(size_of("rate / peak rate"), axis_desc);
    let tick = axis_desc * f64::from(TICK_FONT_PX) / f64::from(AXIS_LABEL_FONT_PX);
    for (size, t) in &texts {
        if t.parse::<f64>().is_ok() {
            assert!(
                (size - tick).abs() < 1e-9,
                "tick {t:?} drawn at {size}, not {tick}"
            );
            assert!(
                !t.ends_with(".0"),
                "tick label {t:?} has a spurious decimal"
            );
        }
    }
}

#[test]
fn a_heat_map_without_a_colour_bar_label_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let map = Heatmap {
        values: vec![vec![0.0, 1.0]],
        x_extent: (0.0, 2.0),
        y_extent: (0.0, 1.0),
        scale: ColorScale::Sequential { lo: 0.0, hi: 1.0 },
        value_label: " ".into(),
    };
    let path = dir.path().join("h.png");
    let err = heatmap(&path, &Axes::default(), &map).unwrap_err();
    assert!(matches!(err, PlotError::Data { .. }), "{err}");
    assert!(err.to_string().contains("colour bar"), "{err}");
    assert!(!path.exists());
}

#[test]
fn histograms_and_rasters_reject_what_they_cannot_draw() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.png");
    let axes = Axes::default();
    for (edges, counts) in [
        (vec![0.0, 1.0], vec![1, 2]),
        (vec![0.0, 0.0, 1.0], vec![1, 2]),
        (vec![0.0, f64::NAN, 1.0], vec![1, 2]),
        (vec![0.0], vec![]),
    ] {
        assert!(
            matches!(
                histogram(&p, &axes, &edges, &counts),
                Err(PlotError::Data { .. })
            ),
            "{edges:?} {counts:?}"
        );
    }
    let silent = Raster {
        spikes: vec![],
        duration_ms: 0.0,
        n_units: 3,
    };
    assert!(matches!(
        raster(&p, "", &silent),
        Err(PlotError::Data { .. })
    ));
    // A silent trial of positive length draws an empty raster.
    let silent = Raster {
        duration_ms: 50.0,
        ..silent
    };
    raster(&p, "silent", &silent).unwrap();
    assert!(p.is_file());
}

#[test]
fn only_the_studies_and_the_command_line_depend_on_the_plotting_crate() {
    // The model crates (spiking, rate RNNs, plasticity, analysis…) compute;
    // figures are drawn where results are reported.
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    for entry in std::fs::read_dir(&crates).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let uses_plot = manifest
            .lines()
            .any(|l| l.trim_start().starts_with("wm-plot"));
        checked += 1;
        assert_eq!(
            uses_plot,
            ["studies", "cli"].contains(&name.as_str()),
            "crates/{name}/Cargo.toml and wm-plot"
        );
    }
    assert!(
        checked >= 8,
        "only {checked} crates found in {}",
        crates.display()
    );
}
