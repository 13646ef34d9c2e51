//! The rate one client may send at to one bucket, learned from refusals alone.
//!
//! Atlas's buckets are shared by every caller of an organization, and Atlas need not say
//! how full they are (its rate-limit page: the `RateLimit-*` headers may be absent), so the
//! only signal the client can count on is a refusal: a 429, or a 503 with `Retry-After`.
//! The controller is CUBIC-shaped, as in the adaptive retry mode of the AWS SDKs: on a
//! refusal the rate drops to [`BETA`] of what the bucket was giving, then grows back along a
//! cubic curve, slowly near the rate that was refused and faster beyond it. The curve's
//! growth is the same number of requests per second for every client, whatever its rate, so
//! clients that share a bucket without knowing of each other, each cut by the same share
//! when refused, drift towards equal shares; each draws its own jitter, so they do not move
//! in lockstep. A bucket seen to run dry well before its refill (see `bucket.rs`) is a
//! milder signal of the same kind: [`Controller::overdrawn`] drops in proportion and climbs
//! back along the same curve.

use tokio::time::Instant;

/// The share of the refused rate a client drops to.
const BETA: f64 = 0.7;

/// The cubic curve's growth, in requests per second per second cubed: a client refused at
/// 10 requests per second is back there after 3 s, one refused at 100 after 6.5 s.
const GROWTH: f64 = 0.11;

/// Requests per second the rate never goes below (one every 20 s) or above.
const MIN_RATE: f64 = 0.05;
const MAX_RATE: f64 = 1e6;

/// How often the sent and accepted rates are measured, and how much a new measurement
/// counts against the history.
const MEASURE_SECS: f64 = 1.0;
const SMOOTHING: f64 = 0.6;

/// The share of its rate a client keeps when a success reports the bucket empty.
const EASE: f64 = 0.95;

/// How many times more slowly the curve grows past the plateau than it climbs back to it.
const PROBE_SLOWDOWN: f64 = 8.0;

/// The share by which a climb back after a cut is made longer or shorter at random.
const CLIMB_JITTER: f64 = 0.25;

/// Growth beyond the plateau stops at this multiple of the rate actually sent.
const USE_HEADROOM: f64 = 1.5;

/// A measured rate below this share of the allowed rate is what a cut starts from.
const MEASURE_TRUST: f64 = 0.75;

/// A request rate measured over whole intervals, smoothed.
#[derive(Debug, Clone)]
struct RateMeter {
    since: Instant,
    count: u32,
    rate: Option<f64>,
}

impl RateMeter {
    fn new(now: Instant) -> Self {
        Self {
            since: now,
            count: 0,
            rate: None,
        }
    }

    fn record(&mut self, now: Instant) {
        self.roll(now);
        self.count = self.count.saturating_add(1);
    }

    /// Closes the interval if it is over; idle time counts, so an idle meter decays.
    fn roll(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.since).as_secs_f64();
        if elapsed < MEASURE_SECS {
            return;
        }
        let measured = f64::from(self.count) / elapsed;
        self.rate = Some(match self.rate {
            Some(old) => SMOOTHING * measured + (1.0 - SMOOTHING) * old,
            None => measured,
        });
        self.since = now;
        self.count = 0;
    }

    /// The smoothed rate, or what the current interval has seen so far (counted over a whole
    /// interval) when that is more: a burst shows before its interval closes.
    fn rate(&mut self, now: Instant) -> Option<f64> {
        self.roll(now);
        let elapsed = now.saturating_duration_since(self.since).as_secs_f64();
        let so_far = (self.count > 0).then(|| f64::from(self.count) / elapsed.max(MEASURE_SECS));
        match (self.rate, so_far) {
            (Some(smoothed), Some(so_far)) => Some(smoothed.max(so_far)),
            (smoothed, so_far) => smoothed.or(so_far),
        }
    }
}

/// The allowed rate of one client to one bucket.
#[derive(Debug, Clone)]
pub(crate) struct Controller {
    /// The rate the curve returns to: the estimate, then the rate of the latest cut. `None`
    /// while there is neither (not paced).
    plateau: Option<f64>,
    /// Whether `plateau` is a rate the bucket answered at (a cut or an ease), not the
    /// starting estimate: only such a rate says others took more when a cut comes below it.
    plateau_measured: bool,
    /// When the curve started, how many seconds after that it reaches `plateau`, and how
    /// steep it is (requests per second per second cubed).
    epoch: Instant,
    k: f64,
    growth: f64,
    /// A rate never to exceed: the bucket's whole refill as the server stated it.
    ceiling: Option<f64>,
    /// When the latest cut happened: replies to requests sent before it belong to it.
    cut_at: Option<Instant>,
    sent: RateMeter,
    accepted: RateMeter,
}

impl Controller {
    /// A controller starting at `estimate` requests per second, or unpaced without one.
    pub(crate) fn new(estimate: Option<f64>, now: Instant) -> Self {
        Self {
            plateau: estimate
                .filter(|r| r.is_finite() && *r > 0.0)
                .map(clamp_rate),
            plateau_measured: false,
            // An estimate is where the curve is flat: it grows from there.
            epoch: now,
            k: 0.0,
            growth: GROWTH,
            ceiling: None,
            cut_at: None,
            sent: RateMeter::new(now),
            accepted: RateMeter::new(now),
        }
    }

    /// The rate allowed now, `None` when not paced.
    pub(crate) fn rate(&mut self, now: Instant) -> Option<f64> {
        let plateau = self.plateau?;
        let x = now.saturating_duration_since(self.epoch).as_secs_f64() - self.k;
        // Past the plateau the curve probes: more slowly than it climbs back, since each
        // refusal it meets costs a `Retry-After` of silence.
        let growth = if x > 0.0 {
            self.growth / PROBE_SLOWDOWN
        } else {
            self.growth
        };
        let mut rate = plateau + growth * x * x * x;
        if rate > plateau {
            // Growth beyond the plateau only while the client uses what it has: an idle
            // client must not wake up entitled to a burst nobody measured.
            let used = self.sent.rate(now).unwrap_or(0.0);
            rate = rate.min(plateau.max(USE_HEADROOM * used));
        }
        if let Some(ceiling) = self.ceiling {
            rate = rate.min(ceiling);
        }
        Some(clamp_rate(rate))
    }

    /// A request was sent now.
    pub(crate) fn sent(&mut self, now: Instant) {
        self.sent.record(now);
    }

    /// A request was answered without a refusal.
    pub(crate) fn accepted(&mut self, now: Instant) {
        self.accepted.record(now);
    }

    /// The server stated the bucket's whole refill rate: never pace above `share` of it.
    pub(crate) fn cap(&mut self, rate: f64) {
        if rate.is_finite() && rate > 0.0 {
            self.ceiling = Some(clamp_rate(rate));
            if let Some(plateau) = self.plateau.as_mut() {
                *plateau = plateau.min(clamp_rate(rate));
            }
        }
    }

    /// A success of a request sent at `sent` found the bucket at its limit
    /// (`RateLimit-Remaining: 0`): ease off a little, once per episode, and grow from there
    /// slowly. A bucket used up exactly is the goal, so this is no cut; it keeps the client
    /// just under the limit instead of probing into a refusal and its `Retry-After`.
    pub(crate) fn ease(&mut self, now: Instant, sent: Instant) {
        if !self.is_new_episode(sent) {
            return;
        }
        if let Some(rate) = self.rate(now) {
            self.plateau = Some(clamp_rate(rate * EASE));
            self.plateau_measured = true;
            self.epoch = now;
            self.k = 0.0;
            self.cut_at = Some(now);
        }
    }

    /// The bucket ran out `short` of a period early: all its users together asked for that
    /// much more than it gives. Drops to that much less and climbs back to the rate it
    /// had within seconds, as after a refusal but shallower; eased again before it is back,
    /// it aims lower (as [`Controller::cut`] does), so against users that do not adapt it
    /// settles where they leave room, and among clients that do, demand that comes in
    /// waves costs little.
    pub(crate) fn overdrawn(&mut self, now: Instant, short: f64) {
        if !short.is_finite() {
            return;
        }
        if let Some(rate) = self.rate(now) {
            self.drop_from(now, rate, (1.0 - short).clamp(BETA, 1.0), GROWTH);
        }
    }

    /// Whether a reply to a request sent at `sent` is news: sent after the latest cut, so
    /// not one of the requests that cut already answered for.
    pub(crate) fn is_new_episode(&self, sent: Instant) -> bool {
        self.cut_at.is_none_or(|at| sent > at)
    }

    /// A refusal (or a sign the bucket ran dry) of a request sent at `sent`: the rate drops
    /// to [`BETA`] of what the bucket was giving, unless this episode was already cut for.
    /// `draw` in `[0, 1)` stretches or shortens the climb back by up to [`CLIMB_JITTER`], so
    /// clients cut together do not reach the bucket's limit together again. Returns whether
    /// it cut.
    pub(crate) fn cut(&mut self, now: Instant, sent: Instant, draw: f64) -> bool {
        if !self.is_new_episode(sent) {
            return false;
        }
        let current = self.rate(now);
        let accepted = self.accepted.rate(now).filter(|r| *r > 0.0);
        let sending = self.sent.rate(now).filter(|r| *r > 0.0);
        // What the bucket gave: the allowed rate, unless the measured rate says the client
        // was far from it (a burst above the pace, or a bucket that gave much less); a
        // measurement lags, so it is not trusted over a rate just under it.
        let given = match (current, accepted.or(sending)) {
            (Some(c), Some(m)) if m < c * MEASURE_TRUST || m > c => m,
            (Some(c), _) => c,
            (None, Some(m)) => m,
            (None, None) => MIN_RATE,
        };
        let draw = if draw.is_finite() {
            draw.clamp(0.0, 1.0)
        } else {
            0.5
        };
        // The curve still starts at `given * BETA`: a longer climb is a flatter one.
        let stretch = 1.0 + CLIMB_JITTER * (2.0 * draw - 1.0);
        self.drop_from(
            now,
            clamp_rate(given),
            BETA,
            GROWTH / (stretch * stretch * stretch),
        );
        true
    }

    /// Drops to `share` of `given` and climbs back along a curve of `growth`. Below the last
    /// plateau the bucket answered at, others are taking more of the bucket, so it aims lower
    /// than `given`, leaving them room (CUBIC's fast convergence). The starting estimate is
    /// no such rate: every client that shares a bucket starts there, and each aiming lower
    /// after the first refusal would leave part of the bucket unused for seconds.
    fn drop_from(&mut self, now: Instant, given: f64, share: f64, growth: f64) {
        let plateau = match self.plateau {
            Some(last) if given < last && self.plateau_measured => given * (1.0 + share) / 2.0,
            _ => given,
        };
        self.plateau_measured = true;
        let start = given * share;
        self.plateau = Some(clamp_rate(plateau));
        self.epoch = now;
        self.growth = growth;
        self.k = ((plateau - start).max(0.0) / self.growth).cbrt();
        self.cut_at = Some(now);
    }
}

fn clamp_rate(rate: f64) -> f64 {
    if rate.is_nan() {
        return MIN_RATE;
    }
    rate.clamp(MIN_RATE, MAX_RATE)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// Sends at `rate` for `seconds`, everything accepted.
    fn drive(c: &mut Controller, from: Instant, rate: f64, seconds: f64) -> Instant {
        let n = (rate * seconds) as u32;
        let mut now = from;
        for _ in 0..n {
            now += secs(1.0 / rate);
            c.sent(now);
            c.accepted(now);
        }
        now
    }

    #[tokio::test(start_paused = true)]
    async fn without_an_estimate_nothing_is_paced_until_a_refusal() {
        let now = Instant::now();
        let mut c = Controller::new(None, now);
        assert_eq!(c.rate(now), None);
        let later = drive(&mut c, now, 40.0, 3.0);
        assert!(c.cut(later, later, 0.5));
        let rate = c.rate(later).unwrap();
        assert!((rate - 0.7 * 40.0).abs() < 2.0, "{rate}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_drops_to_beta_then_climbs_back_in_the_recovery_time() {
        let now = Instant::now();
        let mut c = Controller::new(Some(10.0), now);
        let later = drive(&mut c, now, 10.0, 5.0);
        let before = c.rate(later).unwrap();
        assert!(c.cut(later, later, 0.5));
        assert!((c.rate(later).unwrap() - BETA * before).abs() < 0.01);
        // Refused at what it was allowed: it climbs back to that, in `k` seconds.
        let plateau = c.plateau.unwrap();
        assert!((plateau - before).abs() < 0.01, "{plateau}");
        let halfway = c.rate(later + secs(c.k / 2.0)).unwrap();
        assert!(halfway > BETA * before && halfway < before, "{halfway}");
        let r = c.rate(later + secs(c.k)).unwrap();
        assert!((r - plateau).abs() < 0.05, "{r}");
        // Refused again below that plateau: others take more, so it aims lower (CUBIC's fast
        // convergence).
        let again = later + secs(1.0);
        let refused_at = c.rate(again).unwrap();
        assert!(c.cut(again, again, 0.5));
        let lower = c.plateau.unwrap();
        assert!(lower < refused_at, "{lower} < {refused_at}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_refusal_below_the_estimate_aims_back_at_what_the_bucket_gave() {
        // Two processes start at the whole bucket's 50/s and share it: each was given 25.
        let now = Instant::now();
        let mut c = Controller::new(Some(50.0), now);
        let later = drive(&mut c, now, 25.0, 3.0);
        assert!(c.cut(later, later, 0.5));
        // The estimate was a guess, not a rate the bucket answered at: no aiming lower.
        let plateau = c.plateau.unwrap();
        assert!((plateau - 25.0).abs() < 1.0, "{plateau}");
        let r = c.rate(later + secs(c.k)).unwrap();
        assert!((r - plateau).abs() < 0.05, "{r}");
        // Refused again below that: now others are taking more, and it aims lower.
        let again = later + secs(c.k / 2.0);
        let refused_at = c.rate(again).unwrap();
        assert!(c.cut(again, again, 0.5));
        assert!(c.plateau.unwrap() < refused_at, "{:?}", c.plateau);
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_of_requests_sent_before_a_cut_belong_to_it() {
        let now = Instant::now();
        let mut c = Controller::new(Some(10.0), now);
        let later = now + secs(1.0);
        assert!(c.cut(later, now, 0.5));
        let after_first = c.rate(later).unwrap();
        for _ in 0..50 {
            assert!(!c.cut(later + secs(0.01), now, 0.5));
        }
        assert_eq!(c.rate(later).unwrap(), after_first);
        assert!(
            c.cut(later + secs(0.02), later + secs(0.01), 0.5),
            "a new episode"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn growth_beyond_the_plateau_needs_use() {
        let now = Instant::now();
        let mut c = Controller::new(Some(10.0), now);
        // Idle for a minute: the curve has grown, the allowance has not.
        let idle = now + secs(60.0);
        assert_eq!(c.rate(idle).unwrap(), 10.0);
        let busy = drive(&mut c, idle, 10.0, 10.0);
        let r = c.rate(busy).unwrap();
        assert!(r > 10.0 && r <= 15.0 + 1e-9, "{r}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stated_refill_caps_the_rate() {
        let now = Instant::now();
        let mut c = Controller::new(Some(100.0), now);
        c.cap(5.0);
        assert_eq!(c.rate(now).unwrap(), 5.0);
        let later = drive(&mut c, now, 5.0, 30.0);
        assert_eq!(c.rate(later).unwrap(), 5.0);
    }

    #[tokio::test(start_paused = true)]
    async fn two_clients_sharing_a_bucket_converge_on_fair_shares() {
        // A bucket refilling 30/s, no burst, shared by a client starting at 25/s and one
        // starting at 2/s, each sending as fast as allowed, in 10 ms steps. When together
        // they ask for more than the refill, the bucket refuses one request, of a client
        // drawn in proportion to their rates, which cuts.
        let start = Instant::now();
        let mut clients = [
            (Controller::new(Some(25.0), start), 0.0),
            (Controller::new(Some(2.0), start), 0.0),
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        let mut now = start;
        let step = secs(0.01);
        for _ in 0..12_000 {
            now += step;
            let mut rates = [0.0; 2];
            for (i, (c, owed)) in clients.iter_mut().enumerate() {
                rates[i] = c.rate(now).unwrap();
                *owed += rates[i] * step.as_secs_f64();
                while *owed >= 1.0 {
                    *owed -= 1.0;
                    c.sent(now);
                    c.accepted(now);
                }
            }
            let total = rates[0] + rates[1];
            if total > 30.0 && rng.f64() < (total - 30.0) * step.as_secs_f64() {
                let refused = usize::from(rng.f64() * total >= rates[0]);
                clients[refused].0.cut(now, now, 0.5);
            }
        }
        let ra = clients[0].0.rate(now).unwrap();
        let rb = clients[1].0.rate(now).unwrap();
        if std::env::var_os("TRACE").is_some() {
            eprintln!("{ra:.2} {rb:.2}");
        }
        assert!(
            (ra - rb).abs() / (ra + rb) < 0.3,
            "shares {ra:.1} and {rb:.1}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn hostile_numbers_stay_in_bounds() {
        let now = Instant::now();
        for estimate in [f64::NAN, f64::INFINITY, -1.0, 0.0, 1e300] {
            let mut c = Controller::new(Some(estimate), now);
            c.cap(f64::NAN);
            c.cap(-5.0);
            if let Some(r) = c.rate(now) {
                assert!((MIN_RATE..=MAX_RATE).contains(&r), "{r}");
            }
            c.cut(now, now, 0.5);
            let r = c.rate(now).unwrap();
            assert!((MIN_RATE..=MAX_RATE).contains(&r), "{r}");
        }
    }
}
