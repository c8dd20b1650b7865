//! Where start-up time goes, phase by phase (`--startup-times`; the benchmark's start-up row).
use std::{
    fmt,
    time::{Duration, Instant},
};

/// Time spent in each phase of start-up, in the order phases first ran.
#[derive(Clone, Debug)]
pub struct StartupTimes {
    phases: Vec<(&'static str, Duration)>,
    lap_start: Instant,
}

impl Default for StartupTimes {
    fn default() -> Self {
        Self { phases: Vec::new(), lap_start: Instant::now() }
    }
}

impl StartupTimes {
    /// Adds the time since the previous lap to `phase`.
    pub fn lap(&mut self, phase: &'static str) {
        let now = Instant::now();
        let spent = now - self.lap_start;
        self.lap_start = now;
        match self.phases.iter_mut().find(|(name, _)| *name == phase) {
            Some((_, total)) => *total += spent,
            None => self.phases.push((phase, spent)),
        }
    }

    pub fn total(&self) -> Duration {
        self.phases.iter().map(|(_, spent)| *spent).sum()
    }
}

impl fmt::Display for StartupTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, spent) in &self.phases {
            write!(f, "{name} {:.1}ms, ", spent.as_secs_f64() * 1e3)?;
        }
        write!(f, "total {:.1}ms", self.total().as_secs_f64() * 1e3)
    }
}
