//! `cargo xtask perf baseline`: resolve the plan, measure it, save the run,
//! and make it the baseline only when asked (or when there is none), the
//! old one kept in history. Ends with the run's headline summary, one
//! screen (`perf_report::export::headline`); `--all` prints every metric.

use anyhow::{bail, Context, Result};
use perf_contract::{plan::WorkloadName, schema::Baseline};
use perf_report::{
    export::{Document, Rows},
    policy::Policy,
};
use xshell::Shell;

use crate::{
    baseline_update::{previous_baseline, replace_baseline},
    callgrind,
    cli::{BaselineArgs, Format},
    history_record, measure, printer, replicates,
    settings::{self, plan_for},
    store::Store,
    thresholds,
};

pub fn run(sh: &Shell, store: &Store, args: &BaselineArgs) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let loaded = settings::load(args.run.config.as_deref(), &store.root().join("perf.toml"))?;
    let mut plan = plan_for(sh, store.root(), &cwd, &args.run, &loaded)?;
    if !args.run.settings.has("processes") {
        // As many processes as a check beside this baseline needs on this
        // machine (its calibration), so the gate it sets can answer.
        if let Some((file, c)) = store.calibration(plan.profile)? {
            let policy = thresholds::policy(&loaded.check, None);
            let threshold_for =
                |policy: &Policy, w: WorkloadName, m: &str| policy.pct_for(w, m, None);
            let note = replicates::from_calibration(
                sh,
                store,
                &c,
                &mut plan,
                None,
                &policy,
                &threshold_for,
            );
            if let Some(note) = note.note {
                eprintln!("{note} ({}; --processes N to choose)", file.display());
            }
        }
    }
    if args.dry_run {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan).expect("plan serialises")
        );
        return Ok(());
    }
    let output = match &args.output {
        Some(p) => cwd.join(p),
        None if args.this_machine => {
            store.machine_baseline(&crate::machine::probe(sh, store.root()).machine_id())
        }
        None => store.baseline_file(),
    };
    // Before measuring: a folder can never become the baseline file.
    if output.is_dir() {
        bail!(
            "--output {} is a folder: name a file in it (e.g. {})",
            output.display(),
            output.join("performance_baselines.json").display()
        );
    }
    if args.record {
        history_record::require_clean_tree(sh, store, "--record")?;
    }
    if args.instructions {
        // Before the long timing run: nothing to count, or a missing
        // valgrind, fails fast.
        callgrind::countable_plan(&plan)?;
        callgrind::valgrind_version(sh)?;
    }
    let mut baseline = measure::measure(sh, store, &plan)?;
    if args.instructions {
        eprintln!("counting instructions: a reduced plan under callgrind (one question takes seconds under valgrind; minutes in all)");
        let counted = callgrind::measure_instructions(sh, store, &plan)?;
        callgrind::merge_counts(&mut baseline, &counted);
    }
    let run_file = store.save_run(&baseline)?;
    if args.record {
        let file = history_record::record_run(sh, store, &baseline, &run_file)?;
        eprintln!("recorded in the history: {}", file.display());
    }

    // One screen by default: the run file holds every metric.
    let rows = if args.all { Rows::All } else { Rows::Headline };
    printer::print(
        &Document::Run {
            run: &baseline,
            run_file: &run_file.display().to_string(),
            rows,
        },
        Format::Table,
    )?;
    if output.exists() && !args.update {
        // An existing file that is no baseline is kept too, but not as if
        // it were one.
        let unreadable = Baseline::load(&output)
            .err()
            .map(|e| format!(" although it is unreadable ({e})"))
            .unwrap_or_default();
        println!(
            "kept the existing baseline {}{unreadable} (pass --update to replace it; the old one then moves to {}/)",
            output.display(),
            Store::history_of(&output).display()
        );
        return Ok(());
    }
    if let Some(previous) = previous_baseline(&output).filter(|_| !output.exists()) {
        println!(
            "no baseline at {}; the previous one is {} (kept there)",
            output.display(),
            previous.display()
        );
    }
    if let Some(moved) = replace_baseline(&output, &baseline)? {
        println!("previous baseline kept as {}", moved.display());
    }
    println!("baseline written: {}", output.display());
    Ok(())
}
