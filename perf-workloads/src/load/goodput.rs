//! Goodput: the requests per second that not only completed but met a
//! latency objective (SLO), as DistServe and vLLM's benchmark use the word.
//! Throughput alone rewards a server that answers everything, late; goodput
//! counts only the answers a user would still have wanted, and the highest
//! offered rate at which enough of them come in time is the capacity worth
//! quoting.

use std::time::Duration;

/// A latency objective per request: every part set must be met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slo {
    /// Time to first token, counted from the scheduled arrival; `None`
    /// leaves it unchecked.
    pub ttft: Option<Duration>,
    /// End-to-end latency, counted from the scheduled arrival.
    pub e2e: Duration,
}

/// One request as goodput sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTiming {
    /// `None` when no token came (a failure, or an empty reply).
    pub ttft: Option<Duration>,
    pub e2e: Duration,
    /// Whether it completed without error.
    pub ok: bool,
}

impl Slo {
    /// A failed request never meets it, nor does a request without a first
    /// token when a TTFT objective is set (it cannot be shown to meet it).
    pub fn met_by(&self, r: &RequestTiming) -> bool {
        r.ok && r.e2e <= self.e2e
            && self
                .ttft
                .is_none_or(|limit| r.ttft.is_some_and(|t| t <= limit))
    }
}

/// What one run achieved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Goodput {
    /// Requests sent.
    pub requests: usize,
    /// Requests that completed without error.
    pub completed: usize,
    /// Requests that met every part of the SLO.
    pub met_slo: usize,
    /// `completed / wall`.
    pub achieved_rps: f64,
    /// `met_slo / wall`.
    pub goodput_rps: f64,
    /// `met_slo / requests`: failures count against it, as the user who sent
    /// them got nothing. 0 for no requests.
    pub slo_share: f64,
}

/// Goodput of the `requests` of a run that spanned `wall` (first arrival to
/// last completion). Rates are 0 for a zero `wall`.
pub fn goodput(requests: &[RequestTiming], slo: &Slo, wall: Duration) -> Goodput {
    let completed = requests.iter().filter(|r| r.ok).count();
    let met_slo = requests.iter().filter(|r| slo.met_by(r)).count();
    let per_s = |count: usize| {
        let secs = wall.as_secs_f64();
        if secs > 0.0 {
            count as f64 / secs
        } else {
            0.0
        }
    };
    Goodput {
        requests: requests.len(),
        completed,
        met_slo,
        achieved_rps: per_s(completed),
        goodput_rps: per_s(met_slo),
        slo_share: if requests.is_empty() {
            0.0
        } else {
            met_slo as f64 / requests.len() as f64
        },
    }
}

/// The highest offered rate at which at least `target_share` of requests met
/// the SLO, from `(offered rate, SLO share)` per load level.
///
/// Levels are taken from the lowest rate up and the walk stops at the first
/// level that falls short: a pass above a failure is noise or luck, not
/// capacity, since a server that cannot hold a rate will not hold a higher
/// one. Of levels at the same rate the worst share is taken first, so a
/// repeated level must pass every time. `None` when the lowest level already
/// fails, or there are none. A NaN share fails.
pub fn max_rate_meeting(levels: &[(f64, f64)], target_share: f64) -> Option<f64> {
    let mut sorted = levels.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    sorted
        .iter()
        .take_while(|&&(_, share)| share >= target_share)
        .last()
        .map(|&(rate, _)| rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: u64) -> Duration {
        Duration::from_millis(x)
    }

    fn req(ttft: Option<u64>, e2e: u64, ok: bool) -> RequestTiming {
        RequestTiming {
            ttft: ttft.map(ms),
            e2e: ms(e2e),
            ok,
        }
    }

    #[test]
    fn every_part_of_the_slo_must_be_met() {
        let slo = Slo {
            ttft: Some(ms(100)),
            e2e: ms(1000),
        };
        assert!(
            slo.met_by(&req(Some(100), 1000, true)),
            "limits are inclusive"
        );
        assert!(!slo.met_by(&req(Some(101), 500, true)), "ttft too late");
        assert!(!slo.met_by(&req(Some(50), 1001, true)), "e2e too late");
        assert!(!slo.met_by(&req(Some(50), 500, false)), "failed");
        assert!(!slo.met_by(&req(None, 500, true)), "no first token");
        let e2e_only = Slo {
            ttft: None,
            e2e: ms(1000),
        };
        assert!(e2e_only.met_by(&req(None, 500, true)));
        assert!(e2e_only.met_by(&req(Some(900), 950, true)));
    }

    #[test]
    fn rates_and_share_over_the_wall_time() {
        let slo = Slo {
            ttft: Some(ms(100)),
            e2e: ms(1000),
        };
        let requests = [
            req(Some(50), 400, true),  // meets
            req(Some(80), 900, true),  // meets
            req(Some(200), 900, true), // late first token
            req(Some(50), 1500, true), // late end
            req(None, 30, false),      // failed
        ];
        let g = goodput(&requests, &slo, Duration::from_secs(2));
        assert_eq!((g.requests, g.completed, g.met_slo), (5, 4, 2));
        assert_eq!(g.achieved_rps, 2.0);
        assert_eq!(g.goodput_rps, 1.0);
        assert_eq!(g.slo_share, 0.4);

        let empty = goodput(&[], &slo, Duration::ZERO);
        assert_eq!(
            (empty.achieved_rps, empty.goodput_rps, empty.slo_share),
            (0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn max_rate_takes_the_passing_prefix_from_the_lowest_rate() {
        let levels = [
            (4.0, 0.95),
            (1.0, 1.0),
            (8.0, 0.5),
            (2.0, 0.9),
            (16.0, 0.99),
        ];
        // 16/s passes again above the failure at 8/s: not counted.
        assert_eq!(max_rate_meeting(&levels, 0.9), Some(4.0));
        assert_eq!(max_rate_meeting(&levels, 0.4), Some(16.0));
        assert_eq!(max_rate_meeting(&levels, 1.0), Some(1.0));
        assert_eq!(max_rate_meeting(&[(1.0, 0.5), (2.0, 0.95)], 0.9), None);
        assert_eq!(max_rate_meeting(&[], 0.9), None);
        assert_eq!(max_rate_meeting(&[(1.0, f64::NAN)], 0.9), None);
        // A repeated level must pass every time.
        assert_eq!(
            max_rate_meeting(&[(1.0, 1.0), (2.0, 0.95), (2.0, 0.7), (3.0, 1.0)], 0.9),
            Some(1.0)
        );
    }
}
