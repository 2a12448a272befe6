//! The recorded history as series: every record under the history folder,
//! ordered along a branch's first-parent line, one series per machine and
//! metric with its change points. Shared by `perf history` and `perf
//! report` (whose section 8 lists the baseline machine's change points).

use anyhow::Result;
use perf_contract::plan::ProfileName;
use perf_report::history::{
    change_points::Options,
    load::History,
    series::{build, Built},
};
use xshell::Shell;

use crate::{git_history, store::Store};

/// The history, the branch's line (commit ids, oldest first) and the
/// series of `profile` along it.
pub struct Recorded {
    pub history: History,
    pub line: Vec<String>,
    pub built: Built,
}

pub fn load(
    sh: &Shell,
    store: &Store,
    branch: &str,
    profile: Option<ProfileName>,
) -> Result<(Recorded, ProfileName)> {
    let history = History::load(&store.records_dir())?;
    let line = git_history::first_parent_line(sh, store.root(), branch)?;
    let profile = profile.unwrap_or_else(|| most_recorded(&history));
    let built = build(&history, &line, profile, &Options::default(), &|_, _| 0.0);
    Ok((
        Recorded {
            history,
            line,
            built,
        },
        profile,
    ))
}

/// The profile most records were made with: CI records quick runs, a
/// maintainer full ones; one history can hold both, never mixed.
fn most_recorded(history: &History) -> ProfileName {
    let mut count: std::collections::BTreeMap<ProfileName, usize> = Default::default();
    for r in &history.commits {
        *count.entry(r.profile).or_default() += 1;
    }
    count
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map_or(ProfileName::Quick, |(p, _)| p)
}

/// Whether `metric` is a headline figure in any record of `machine`.
pub fn headline(history: &History, machine: &str, metric: &str) -> bool {
    history
        .commits
        .iter()
        .any(|r| r.machine.id == machine && r.metrics.get(metric).is_some_and(|p| p.headline))
}
