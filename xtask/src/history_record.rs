//! Adding to the performance history: a run of one commit
//! (`perf baseline --record`, `perf history --record-run`) or a compare of
//! two (`perf compare --record`), as one new file under
//! `baselines/records/<machine>/`. A run of a tree with uncommitted
//! changes belongs to no commit and is refused.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use perf_contract::schema::Baseline;
use perf_report::history::record::{CommitRecord, RecordFile, StepRecord};
use xshell::Shell;

use crate::{git_history, store::Store};

/// Fails, before anything is measured, when the working tree has
/// uncommitted changes: what `--record` would measure is no commit.
pub fn require_clean_tree(sh: &Shell, store: &Store, flag: &str) -> Result<()> {
    let changed = git_history::uncommitted(sh, store.root())?;
    if let Some(first) = changed.first() {
        bail!(
            "{flag}: the working tree has uncommitted changes ({first}{}): a record is keyed by its commit; commit them first, or drop {flag}",
            match changed.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            }
        );
    }
    Ok(())
}

/// Records `run` as a run of the commit it names; `source` names the run
/// in messages.
pub fn record_run(sh: &Shell, store: &Store, run: &Baseline, source: &Path) -> Result<PathBuf> {
    let e = &run.environment;
    let Some(id) = e.git_commit.as_deref() else {
        bail!(
            "{} names no commit (measured outside a git checkout): it cannot join the history",
            source.display()
        );
    };
    if e.git_dirty != Some(false) {
        bail!(
            "{} was measured on a tree with uncommitted changes (or says nothing about it): it belongs to no commit; record a run of a clean tree",
            source.display()
        );
    }
    if run.plan.inject_delay.is_some() {
        bail!(
            "{} is a test run with an injected delay (--inject-delay): it measured no commit's code as it is",
            source.display()
        );
    }
    let commit = git_history::commit(sh, store.root(), id)?;
    let record = CommitRecord::of(run, commit);
    // Counted twice, one run would weigh as two sessions in its commit's
    // figure and interval.
    let history = perf_report::history::load::History::load(&store.records_dir())?;
    if history.commits.iter().any(|r| {
        r.machine.id == record.machine.id
            && r.commit.id == record.commit.id
            && r.recorded_at == record.recorded_at
    }) {
        bail!(
            "{} is already in the history ({}): a run is recorded once",
            source.display(),
            store.records_dir().join(&record.machine.id).display()
        );
    }
    let name = format!(
        "{}-{}-{}",
        &record.commit.id[..12.min(record.commit.id.len())],
        run.plan.profile.as_str(),
        crate::store::stamp(run.created_at)
    );
    let machine = record.machine.id.clone();
    store.save_record(
        &machine,
        false,
        &name,
        &to_json(&RecordFile::Commit(record)),
    )
}

/// Records a compare of two commits.
pub fn record_step(store: &Store, step: StepRecord) -> Result<PathBuf> {
    let name = format!(
        "{}..{}-{}-{}",
        &step.base.id[..12.min(step.base.id.len())],
        &step.head.id[..12.min(step.head.id.len())],
        step.profile.as_str(),
        crate::store::stamp(step.recorded_at)
    );
    let machine = step.machine.id.clone();
    store.save_record(&machine, true, &name, &to_json(&RecordFile::Step(step)))
}

fn to_json(r: &RecordFile) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("records serialise");
    s.push('\n');
    s
}
