//! What a storm's history proves: every host on disk is in a state its requests allow (no
//! acknowledged deploy lost, nothing half-done), and the server's change log shows the deploys
//! of each host one after the other.

use std::collections::{HashMap, HashSet};

use super::storm::{Op, Outcome};
use super::storm_world::{StormWorld, STORM_CONFIGURATIONS};

/// The states host `h` may be in once every op of `ops` is over (answered or abandoned),
/// starting from `initial`.
///
/// Each request takes effect on a host at one moment between its sending and its answer (or
/// at any later moment, or never, when it got no answer). The state left is the one of the
/// request that took effect last. A request R can be that one unless an acknowledged request
/// A was sent after R's answer arrived (A then took effect after R). The initial state can be
/// left only if no request was acknowledged. Non-200 answers count as "may have taken effect",
/// which only widens the set.
pub fn allowed_states(initial: Option<usize>, ops: &[Op], h: usize) -> HashSet<Option<usize>> {
    let mine: Vec<&Op> = ops.iter().filter(|op| op.hosts.contains(&h)).collect();
    let last_acked_sent = mine.iter().filter(|op| op.acked()).map(|op| op.sent).max();
    let mut allowed = HashSet::new();
    if last_acked_sent.is_none() {
        allowed.insert(initial);
    }
    for op in &mine {
        let overtaken = match (op.answered, last_acked_sent) {
            (Some(answered), Some(later)) => later > answered,
            _ => false,
        };
        // A request answered with a refusal (4xx) changed nothing.
        let refused = matches!(op.outcome, Outcome::Status(s, _) if (400..500).contains(&s));
        if !overtaken && !refused {
            allowed.insert(op.result());
        }
    }
    allowed
}

/// Checks every host's state on disk against [`allowed_states`]; returns the violations.
pub fn durability_violations(
    world: &StormWorld,
    initial: &[Option<usize>],
    ops: &[Op],
) -> Vec<String> {
    let mut violations = Vec::new();
    for (h, state) in world.disk_state().into_iter().enumerate() {
        match state {
            Err(problem) => violations.push(problem),
            Ok(state) => {
                let allowed = allowed_states(initial[h], ops, h);
                if !allowed.contains(&state) {
                    let name = |s: &Option<usize>| s.map_or("-", |c| STORM_CONFIGURATIONS[c]);
                    violations.push(format!(
                        "host {} is on {} but only {:?} are possible after its acknowledged requests",
                        world.hosts[h].name,
                        name(&state),
                        allowed.iter().map(name).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    violations
}

/// Checks, from the server's change log, that the deploys of each host were serialised: the
/// `change=OLD -> NEW` lines of a host, in any order, must chain from `initial` to `last`
/// (an Euler path: every state is left as often as it is entered, but the ends), one line per
/// acknowledged deploy of the host (and at most one per unanswered one). Two deploys that
/// raced would both start from the same OLD, which breaks the balance.
pub fn unserialised_hosts(
    logs: &str,
    world: &StormWorld,
    initial: &[Option<usize>],
    last: &[Option<usize>],
    ops: &[Op],
) -> Vec<String> {
    let mut transitions: HashMap<&str, Vec<(String, String)>> = HashMap::new();
    for line in logs
        .lines()
        .filter(|l| l.contains("configuration deployed"))
    {
        let host = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("host="))
            .unwrap_or("?");
        let Some((old, new)) = line
            .split_once("change=")
            .and_then(|(_, change)| change.trim().split_once(" -> "))
        else {
            continue;
        };
        transitions
            .entry(host)
            .or_default()
            .push((old.to_owned(), new.to_owned()));
    }
    let label = |s: Option<usize>| s.map_or("-".to_owned(), |c| STORM_CONFIGURATIONS[c].into());
    let mut problems = Vec::new();
    for (h, host) in world.hosts.iter().enumerate() {
        let edges = transitions
            .get(host.name.as_str())
            .cloned()
            .unwrap_or_default();
        let acked = ops
            .iter()
            .filter(|op| op.acked() && op.hosts.contains(&h))
            .count();
        let unanswered = ops
            .iter()
            .filter(|op| matches!(op.outcome, Outcome::Transport(_)) && op.hosts.contains(&h))
            .count();
        if edges.len() < acked || edges.len() > acked + unanswered {
            problems.push(format!(
                "{}: {} change lines for {acked} acknowledged deploys ({unanswered} unanswered)",
                host.name,
                edges.len()
            ));
            continue;
        }
        let mut balance: HashMap<String, i64> = HashMap::new();
        for (old, new) in &edges {
            *balance.entry(old.clone()).or_default() += 1;
            *balance.entry(new.clone()).or_default() -= 1;
        }
        *balance.entry(label(initial[h])).or_default() -= 1;
        *balance.entry(label(last[h])).or_default() += 1;
        let unbalanced: Vec<_> = balance.iter().filter(|(_, b)| **b != 0).collect();
        if !unbalanced.is_empty() {
            problems.push(format!(
                "{}: the changes do not chain from {} to {}: {unbalanced:?}",
                host.name,
                label(initial[h]),
                label(last[h])
            ));
        }
    }
    problems
}

/// How many change lines (`configuration deployed`) the log holds.
pub fn change_lines(logs: &str) -> usize {
    logs.lines()
        .filter(|l| l.contains("configuration deployed"))
        .count()
}
