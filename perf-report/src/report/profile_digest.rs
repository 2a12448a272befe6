//! A profile run's findings in one small file committed beside the
//! baseline (`baselines/profile.json`): the summary (per-workload and
//! per-stage evidence, the ranked bottlenecks), each workload's
//! function-family shares, and the machine, commit and time of the run.
//! The profile folder itself (flamegraphs, pprof files, folded stacks:
//! megabytes) stays out of git; without this file a report regenerated on
//! a machine that never profiled lost its top bottlenecks and
//! opportunities. `perf profile` writes it, `perf report` reads it when no
//! profile folder is at hand and says whose findings they are.

use std::{collections::BTreeMap, path::Path};

use chrono::{DateTime, Utc};
use perf_contract::{environment::Environment, plan::ProfileName};
use perf_profile::{FamilyShares, ProfileSummary};
use serde::{Deserialize, Serialize};

use super::ProfileInputs;

/// Its name beside the baseline.
pub const FILE_NAME: &str = "profile.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileDigest {
    pub created_at: DateTime<Utc>,
    pub machine_fingerprint: String,
    pub environment: Environment,
    /// The plan's profile the run measured (quick: a corpus subset);
    /// `None` in digests written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileName>,
    pub summary: ProfileSummary,
    /// Function-family shares of each workload's whole profile.
    pub family_shares: BTreeMap<String, FamilyShares>,
}

impl ProfileDigest {
    /// The digest of a profile run read from its folder (`profile`), made
    /// on the machine `environment` describes; `None` without a summary.
    pub fn of(
        profile: &ProfileInputs,
        machine_fingerprint: &str,
        environment: &Environment,
        (plan_profile, created_at): (ProfileName, DateTime<Utc>),
    ) -> Option<ProfileDigest> {
        Some(ProfileDigest {
            created_at,
            machine_fingerprint: machine_fingerprint.to_string(),
            environment: environment.clone(),
            profile: Some(plan_profile),
            summary: profile.summary.clone()?,
            family_shares: profile.family_shares.clone(),
        })
    }

    /// Where the findings come from, as sections 6 and 7 say it.
    pub fn origin(&self, file: &str) -> String {
        let commit = match (&self.environment.git_commit, self.environment.git_dirty) {
            (Some(c), Some(true)) => format!("commit {} with uncommitted changes", short(c)),
            (Some(c), _) => format!("commit {}", short(c)),
            (None, _) => "an unknown commit".into(),
        };
        format!(
            "the digest `{file}` of a {} run on {} ({} logical cores), {commit}, {}",
            self.profile
                .map_or_else(|| "profile".to_string(), |p| format!("{p} profile")),
            self.environment.cpu_model.trim(),
            self.environment.logical_cores,
            self.created_at.format("%Y-%m-%d %H:%M UTC")
        )
    }

    /// The report's view of it: no files to link, the origin named.
    pub fn into_inputs(self, file: &Path, shown: &str) -> ProfileInputs {
        let origin = self.origin(shown);
        let without_stacks = self
            .summary
            .workloads
            .iter()
            .map(|w| w.workload.clone())
            .filter(|w| !self.family_shares.contains_key(w))
            .collect();
        ProfileInputs {
            bottlenecks: Some(self.summary.bottlenecks.clone()),
            summary: Some(self.summary),
            bottlenecks_file: false,
            resolved_dir: None,
            link_base: file.display().to_string(),
            flamegraphs: Vec::new(),
            family_shares: self.family_shares,
            without_stacks,
            digest: Some(origin),
        }
    }
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}
