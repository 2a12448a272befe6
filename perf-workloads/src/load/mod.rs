//! Open-loop load generation, generic over the request.
//!
//! A *closed* loop sends the next request only when a reply has come back, so
//! a slow server slows the client down with it: the load falls exactly when
//! the server struggles, and the requests that would have arrived meanwhile
//! are never sent and never timed. An *open* loop fixes when each request
//! arrives beforehand, as independent users would, and keeps to that
//! schedule whatever the replies are doing.
//!
//! Every latency is therefore counted from the time the request was
//! *scheduled*, not from the time a free slot let it start. Timing from the
//! start would leave out the wait behind a stalled server, precisely the
//! delay a user feels; that omission ("coordinated omission", Gil Tene's
//! name for it) makes a saturated server look fast. vLLM's serving
//! benchmark counts the same way.
//!
//! The parts:
//! - [`arrivals`]: when requests arrive, a seeded gamma renewal process with
//!   a mean rate and a burstiness (1 is Poisson, as vLLM's benchmark draws
//!   it).
//! - [`driver`]: runs any request function on an arrival list with a bound
//!   on requests in flight, recording per request when it was due, started
//!   and finished, and its result.
//! - [`goodput`]: what a run achieved against a latency objective (SLO), and
//!   the highest offered rate whose requests still met it.

pub mod arrivals;
pub mod driver;
pub mod goodput;
