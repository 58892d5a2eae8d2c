//! How fast a sweep's points are finishing, for the time-left estimate of
//! `wm sweep status`: read from the times the finished points' result files
//! were written, so it reflects the machine and load the sweep really runs
//! under (not a benchmark).

use std::time::{Duration, SystemTime};

/// Finishes older than this do not count: the pace of a sweep restarted on
/// another machine, or of files whose times a fresh clone reset, says
/// nothing about now.
pub const WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Fewest recent finishes that give a pace.
pub const MIN_POINTS: usize = 3;

/// Most finishes the pace is measured over: the latest ones, so that a
/// pause earlier in the day (the machine busy, the sweep stopped) does not
/// slow the estimate.
pub const MAX_POINTS: usize = 10;

/// The recent pace of a sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// Finished points the pace is measured over.
    pub points: usize,
    /// Seconds between successive finishes, on average over those points.
    pub seconds_per_point: f64,
}

impl Pace {
    /// Seconds until `pending` more points finish at this pace.
    pub fn seconds_left(&self, pending: usize) -> f64 {
        self.seconds_per_point * pending as f64
    }
}

/// The pace of the latest [`MAX_POINTS`] finishes `times` that fall within
/// [`WINDOW`] before `now`: their span over their count less one. `None`
/// with fewer than [`MIN_POINTS`] of them or when they all share one time
/// (copied files).
pub fn pace_of(times: &[SystemTime], now: SystemTime) -> Option<Pace> {
    let mut recent: Vec<SystemTime> = times
        .iter()
        .copied()
        .filter(|&t| now.duration_since(t).is_ok_and(|age| age <= WINDOW))
        .collect();
    recent.sort();
    let recent = &recent[recent.len().saturating_sub(MAX_POINTS)..];
    if recent.len() < MIN_POINTS {
        return None;
    }
    let first = *recent.first()?;
    let last = *recent.last()?;
    let span = last.duration_since(first).ok()?.as_secs_f64();
    (span > 0.0).then(|| Pace {
        points: recent.len(),
        seconds_per_point: span / (recent.len() - 1) as f64,
    })
}

/// `seconds` as a short human duration: "40 min", "3.5 h", "2.1 days".
pub fn human_duration(seconds: f64) -> String {
    let minutes = seconds / 60.0;
    if minutes < 90.0 {
        format!("{:.0} min", minutes.max(1.0))
    } else if minutes < 48.0 * 60.0 {
        format!("{:.1} h", minutes / 60.0)
    } else {
        format!("{:.1} days", minutes / (24.0 * 60.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(now: SystemTime, minutes_ago: &[u64]) -> Vec<SystemTime> {
        minutes_ago
            .iter()
            .map(|m| now - Duration::from_secs(60 * m))
            .collect()
    }

    #[test]
    fn pace_is_the_span_of_recent_finishes_over_their_gaps() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000_000);
        // Finishes 0, 10, 25 and 30 minutes ago: 30 minutes over 3 gaps.
        let p = pace_of(&at(now, &[30, 25, 10, 0]), now).unwrap();
        assert_eq!(p.points, 4);
        assert_eq!(p.seconds_per_point, 600.0);
        assert_eq!(p.seconds_left(6), 3600.0);
        // A finish two days ago is outside the window and does not count.
        let p = pace_of(&at(now, &[2 * 24 * 60, 20, 10, 0]), now).unwrap();
        assert_eq!((p.points, p.seconds_per_point), (3, 600.0));
        // Only the latest ten count: five slow finishes hours ago, then ten
        // a minute apart (in any order).
        let mut minutes: Vec<u64> = (0..10).rev().collect();
        minutes.extend([300, 400, 500, 600, 700]);
        let p = pace_of(&at(now, &minutes), now).unwrap();
        assert_eq!((p.points, p.seconds_per_point), (10, 60.0));
    }

    #[test]
    fn too_few_or_simultaneous_finishes_give_no_pace() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000_000);
        assert_eq!(pace_of(&at(now, &[10, 0]), now), None);
        assert_eq!(pace_of(&at(now, &[5, 5, 5, 5]), now), None);
        assert_eq!(pace_of(&[], now), None);
        // Times in the future (another clock) are not recent finishes.
        let future = vec![now + Duration::from_secs(60); 3];
        assert_eq!(pace_of(&future, now), None);
    }

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        assert_eq!(human_duration(10.0), "1 min");
        assert_eq!(human_duration(40.0 * 60.0), "40 min");
        assert_eq!(human_duration(3.5 * 3600.0), "3.5 h");
        assert_eq!(human_duration(3.0 * 86400.0), "3.0 days");
    }
}
