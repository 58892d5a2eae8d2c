//! Every chart renders to PNG and SVG with the embedded font, and bad data
//! gets a typed error instead of a panic.

use wm_plot::*;

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

#[test]
fn scatter_with_fit_renders_png_and_svg_with_text() {
    let dir = tempfile::tempdir().unwrap();
    let groups = [ScatterGroup {
        name: "networks".into(),
        points: vec![(0.0, 1.0), (0.2, 1.5), (0.4, 2.2)],
    }];
    let x: Vec<f64> = (0..=10).map(|i| i as f64 * 0.04).collect();
    let fit: Vec<f64> = x.iter().map(|x| 1.0 + 3.0 * x).collect();
    let fits = [FitBand {
        name: "OLS".into(),
        lo: fit.iter().map(|y| y - 0.2).collect(),
        hi: fit.iter().map(|y| y + 0.2).collect(),
        x,
        fit,
    }];
    let axes = Axes::new("SI vs sigma0", "sigma0", "SI");
    let png = dir.path().join("a.png");
    scatter_with_fit(&png, &axes, &groups, &fits).unwrap();
    assert_eq!(png_size(&std::fs::read(&png).unwrap()), style::FIGURE_PX);
    let svg = dir.path().join("a.svg");
    scatter_with_fit(&svg, &axes, &groups, &fits).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("SI vs sigma0"),
        "the title must be drawn as text"
    );
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn heatmap_lines_and_bars_render() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<Vec<f64>> = (0..20)
        .map(|i| (0..30).map(|j| ((i * j) as f64).sin()).collect())
        .collect();
    let map = Heatmap {
        scale: ColorScale::diverging_from(values.iter().flatten().copied()),
        values,
        x_extent: (0.0, 30.0),
        y_extent: (0.0, 20.0),
        value_label: "weight".into(),
    };
    heatmap(
        &dir.path().join("h.png"),
        &Axes::new("W", "post", "pre"),
        &map,
    )
    .unwrap();
    let line = Line {
        name: "profile".into(),
        x: vec![-1.0, 0.0, 1.0],
        y: vec![0.1, 0.9, 0.2],
        err: Some(vec![0.05; 3]),
    };
    line_plot(
        &dir.path().join("l.svg"),
        &Axes::new("profile", "offset", "weight"),
        &[line],
    )
    .unwrap();
    let bars = [
        BarGroup {
            label: "2AFC".into(),
            value: 4.0,
            err: Some(0.3),
            points: vec![3.6, 4.4],
        },
        BarGroup {
            label: "DE-1".into(),
            value: 1.0,
            err: None,
            points: vec![],
        },
    ];
    bar_chart(
        &dir.path().join("b.png"),
        &Axes::new("SI by task", "task", "SI"),
        &bars,
    )
    .unwrap();
    histogram(
        &dir.path().join("hist.png"),
        &Axes::new("timescales", "timescale (ms)", "units"),
        &[0.0, 50.0, 100.0],
        &[3, 1],
    )
    .unwrap();
    raster(
        &dir.path().join("raster.png"),
        "spikes",
        &Raster {
            spikes: vec![(1.0, 0), (2.5, 3)],
            duration_ms: 10.0,
            n_units: 4,
        },
    )
    .unwrap();
    for f in ["h.png", "l.svg", "b.png", "hist.png", "raster.png"] {
        let bytes = std::fs::read(dir.path().join(f)).unwrap();
        assert!(bytes.len() > 1000, "{f} is suspiciously small");
        if f.ends_with(".png") {
            // One size for every kind of figure.
            assert_eq!(png_size(&bytes), style::FIGURE_PX, "{f}");
        }
    }
}

#[test]
fn bad_input_gets_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let axes = Axes::default();
    let ragged = Heatmap {
        values: vec![vec![1.0, 2.0], vec![1.0]],
        x_extent: (0.0, 1.0),
        y_extent: (0.0, 1.0),
        scale: ColorScale::Diverging { limit: 1.0 },
        value_label: "weight".into(),
    };
    assert!(matches!(
        heatmap(&dir.path().join("r.png"), &axes, &ragged),
        Err(PlotError::Data { .. })
    ));
    let nan = [ScatterGroup {
        name: "x".into(),
        points: vec![(f64::NAN, 1.0)],
    }];
    assert!(matches!(
        scatter_with_fit(&dir.path().join("n.png"), &axes, &nan, &[]),
        Err(PlotError::Data { .. })
    ));
    let ok = [ScatterGroup {
        name: "x".into(),
        points: vec![(0.0, 1.0)],
    }];
    assert!(matches!(
        scatter_with_fit(&dir.path().join("n.jpg"), &axes, &ok, &[]),
        Err(PlotError::Format(_))
    ));
}
