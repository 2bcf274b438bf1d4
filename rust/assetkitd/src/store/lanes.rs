//! Fair queueing between senders: jobs wait in lanes (one per sending key), FIFO within a lane,
//! and a batch takes one job per lane in turn, stopping before its weight passes the cap (so a
//! job heavier than the cap runs alone). One sender flooding the queue gets one job into each
//! batch at most; another's job waits behind one of the flood's, not behind all of them.

use std::collections::{HashMap, VecDeque};

/// Most jobs in one batch.
pub const MAX_BATCH: usize = 64;
/// Most weight (KiB of report) in one batch, unless its first job alone is heavier.
pub const MAX_BATCH_WEIGHT: u32 = 1024;

/// Something that has a lane and a weight.
pub trait Fair {
    /// Whose it is.
    fn lane(&self) -> &str;
    /// How heavy it is.
    fn weight(&self) -> u32;
}

/// Jobs by lane, FIFO within a lane, lanes served in turn.
pub struct Lanes<J> {
    order: VecDeque<String>,
    jobs: HashMap<String, VecDeque<J>>,
}

impl<J> Default for Lanes<J> {
    fn default() -> Self {
        Lanes { order: VecDeque::new(), jobs: HashMap::new() }
    }
}

impl<J: Fair> Lanes<J> {
    /// No jobs.
    pub fn new() -> Self {
        Self::default()
    }

    /// No job waits.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Queues `job` at the end of its lane.
    pub fn push(&mut self, job: J) {
        let lane = job.lane().to_owned();
        let queue = self.jobs.entry(lane.clone()).or_default();
        if queue.is_empty() {
            self.order.push_back(lane);
        }
        queue.push_back(job);
    }

    /// One job per lane in turn, until [`MAX_BATCH`] jobs, or until the next would take the
    /// batch past [`MAX_BATCH_WEIGHT`] (the first job is always taken).
    pub fn batch(&mut self) -> Vec<J> {
        let mut batch = Vec::new();
        let mut weight = 0u32;
        while batch.len() < MAX_BATCH {
            let Some(lane) = self.order.pop_front() else { break };
            let queue = self.jobs.get_mut(&lane).expect("a lane in the order has jobs");
            let next = queue.front().map_or(0, Fair::weight);
            if !batch.is_empty() && weight.saturating_add(next) > MAX_BATCH_WEIGHT {
                self.order.push_front(lane);
                break;
            }
            let job = queue.pop_front().expect("a lane in the order has jobs");
            weight = weight.saturating_add(job.weight());
            batch.push(job);
            if queue.is_empty() {
                self.jobs.remove(&lane);
            } else {
                self.order.push_back(lane);
            }
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct J(&'static str, u32);

    impl Fair for J {
        fn lane(&self) -> &str {
            self.0
        }
        fn weight(&self) -> u32 {
            self.1
        }
    }

    #[test]
    fn a_flooding_lane_gets_one_job_per_turn_and_heavy_jobs_run_alone() {
        let mut lanes = Lanes::new();
        for _ in 0..8 {
            lanes.push(J("flood", 2048));
        }
        lanes.push(J("host-b", 10));
        lanes.push(J("host-c", 10));
        // A heavy job alone; then the light ones, before the flood's next.
        assert_eq!(lanes.batch(), [J("flood", 2048)]);
        assert_eq!(lanes.batch(), [J("host-b", 10), J("host-c", 10)]);
        assert_eq!(lanes.batch(), [J("flood", 2048)]);
        // A newcomer waits behind one of the flood's jobs at most, not behind its backlog.
        lanes.push(J("host-b", 10));
        assert_eq!(lanes.batch(), [J("flood", 2048)]);
        assert_eq!(lanes.batch(), [J("host-b", 10)]);
        assert_eq!(lanes.batch(), [J("flood", 2048)]);
    }

    #[test]
    fn light_jobs_share_a_batch_in_turn_and_keep_their_lane_order() {
        let mut lanes = Lanes::new();
        for i in 0..3 {
            lanes.push(J("a", 1 + i));
        }
        lanes.push(J("b", 1));
        assert_eq!(lanes.batch(), [J("a", 1), J("b", 1), J("a", 2), J("a", 3)]);
        assert!(lanes.is_empty());
        for _ in 0..(MAX_BATCH + 5) {
            lanes.push(J("c", 1));
        }
        assert_eq!(lanes.batch().len(), MAX_BATCH);
    }
}
