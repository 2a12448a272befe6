//! Change points weighed against the paired compares recorded over their
//! commits. A series of separate runs moves with the machine (another
//! neighbour, another session's page placement) as well as with the code,
//! and on a shared machine that drift makes steps E-Divisive cannot tell
//! from real ones. A compare of parent against commit builds and runs both
//! side by side, so the machine's drift cancels in it: where compares were
//! recorded, they decide.
//!
//! Measured on a 2-core Xeon (family 6 model 167, AVX-512/AMX): over a
//! recorded 16-commit branch with one real slowdown, the series alone
//! reported steps at a commit that changed nothing in three `rag_query`
//! stages (−8 to −13%, the machine quietening between two compares) and
//! missed the 8% latency step the compares all showed.
//!
//! The rule, per candidate of the series over the commits
//! `(before, at]`: the compares over that range composed (with the spread
//! between builds, `relative::Compares`) either change the same way
//! (kept, confirmed), hold no change and not the series' step (set aside:
//! the machine drifted), or cannot tell (set aside too, unresolved: the
//! compares decide where they were recorded). Then each
//! single compare the series has no step at is a step of its own when it
//! survives Holm's correction over the series' compares at the series'
//! `alpha`, is at least the step the machine resolves, and persists in
//! the builds after it (see [`persists`]).

use super::{
    change_points::{ChangePoint, Evidence, Options, PairedChange},
    relative::Compares,
};

/// The change points to report, in order of index, and those set aside;
/// `positions` are the places on the line of the series' points.
pub fn weigh(
    found: Vec<ChangePoint>,
    positions: &[usize],
    compares: &Compares,
    options: &Options,
) -> (Vec<ChangePoint>, Vec<ChangePoint>) {
    let (mut kept, mut set_aside) = (Vec::new(), Vec::new());
    for mut c in found {
        let (before, at) = (positions[c.index - 1], positions[c.index]);
        c.evidence = match compares.over(before, at) {
            None => Evidence::SeriesOnly,
            Some(p) if same_way(&p, c.change_pct) => Evidence::Confirmed(p),
            Some(p) if p.low_pct <= c.change_pct && c.change_pct <= p.high_pct => {
                Evidence::Unresolved(p)
            }
            Some(p) => Evidence::Contradicted(p),
        };
        // Where compares cover the range they decide: a step they do not
        // confirm is set aside, with what they said.
        match c.evidence {
            Evidence::SeriesOnly | Evidence::Confirmed(_) => kept.push(c),
            _ => set_aside.push(c),
        }
    }
    kept.extend(paired_only(positions, compares, options, &kept));
    kept.sort_by_key(|c| c.index);
    (kept, set_aside)
}

/// A compare's interval excludes no change, on the side of `change_pct`.
fn same_way(p: &PairedChange, change_pct: f64) -> bool {
    (p.low_pct > 0.0 && change_pct > 0.0) || (p.high_pct < 0.0 && change_pct < 0.0)
}

/// Steps that single compares show where the series has none.
fn paired_only(
    positions: &[usize],
    compares: &Compares,
    options: &Options,
    kept: &[ChangePoint],
) -> Vec<ChangePoint> {
    let (Some(&first), Some(&last)) = (positions.first(), positions.last()) else {
        return Vec::new();
    };
    let steps: Vec<(usize, PairedChange)> = (first + 1..=last)
        .filter_map(|at| Some((at, compares.over(at - 1, at)?)))
        .collect();
    let p: Vec<f64> = steps.iter().map(|(_, s)| s.p_value).collect();
    let adjusted = crate::paired::holm_adjust(&p);
    // Positions inside a kept point's range are explained by it.
    let covered = |at: usize| {
        kept.iter()
            .any(|c| positions[c.index - 1] < at && at <= positions[c.index])
    };
    steps
        .into_iter()
        .zip(adjusted)
        .filter(|((at, s), adjusted)| {
            *adjusted < options.alpha
                && s.change_pct.abs() >= options.min_step_pct
                && !covered(*at)
                && persists(compares, (first, *at, last), s, options)
        })
        .filter_map(|((at, s), adjusted)| {
            // The first recorded commit at or after the step: its point
            // carries the step on the x axis.
            let index = positions.iter().position(|&p| p >= at)?;
            Some(ChangePoint {
                index,
                change_pct: s.change_pct,
                low_pct: s.low_pct,
                high_pct: s.high_pct,
                // Holm's: the level the step was judged at.
                p_value: adjusted,
                evidence: Evidence::PairedOnly(s),
            })
        })
        .collect()
}

/// A change of the code stays in every later build; a build's own layout
/// (where its hot loops and pages happen to land) goes with the next
/// build, and on a µs-scale figure it can move 10% (measured: a
/// `rag_query` stage 8–12% apart between builds of commits that changed
/// nothing). So a step found by one compare counts only when it
/// separates levels: the relative index (the compares composed) at the
/// `min_segment` commits from the step on lies wholly beyond its level at
/// the `min_segment` commits before, in the step's direction. One build
/// fast or slow by its layout alone, the step's commit or its parent,
/// cannot do that; by chance, with no step at all, the two sets separate
/// one way in 1 of C(2m, m) orders (1 in 20 at m = 3), on top of the
/// compare's own Holm-corrected test. A step nearer than that to either
/// end of the recorded compares waits for more commits, as the series'
/// own test does.
fn persists(
    compares: &Compares,
    (first, at, last): (usize, usize, usize),
    step: &PairedChange,
    options: &Options,
) -> bool {
    let m = options.min_segment.max(1);
    if at < first + m || at + m - 1 > last {
        return false;
    }
    let anchor = at - m;
    let level = |j: usize| match j == anchor {
        true => Some(0.0),
        false => compares.over(anchor, j).map(|p| p.change_pct),
    };
    let before: Option<Vec<f64>> = (anchor..at).map(level).collect();
    let after: Option<Vec<f64>> = (at..at + m).map(level).collect();
    let (Some(before), Some(after)) = (before, after) else {
        return false;
    };
    let bounds = |v: &[f64]| {
        (
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    };
    if step.change_pct > 0.0 {
        bounds(&after).0 > bounds(&before).1
    } else {
        bounds(&after).1 < bounds(&before).0
    }
}
