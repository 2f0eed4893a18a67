//! A node's inputs: batches in arrival order with the input they came from, watermarks
//! combined (the minimum over live, non-idle edges, never going back), and barriers
//! aligned — an edge that delivered barrier `e` is not read again until every edge has,
//! so each snapshot covers exactly the epoch's data.
//!
//! A node that declares its own `event_time` (Spark's `withWatermark` just before it)
//! derives each edge's watermark from the rows on that edge instead of the upstream
//! watermark, and moves it only when a barrier is aligned: as everywhere, the watermark
//! advances at epoch boundaries, so a replay after a crash sees the same watermarks.

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::Result;
use arrow::array::RecordBatch;
use crossbeam_channel::{Receiver, Select};

use super::message::{Control, Message};
use super::watermark::WatermarkGenerator;

/// The next thing a node must handle.
pub enum Input {
    /// A batch from the node's input with this index.
    Batch(usize, RecordBatch),
    /// The combined watermark moved forward to this.
    Watermark(i64),
    /// Every live input is idle.
    Idle,
    /// Every input has delivered this barrier.
    Barrier(u64),
    Control(Control),
    /// Every input has ended.
    End,
    /// An upstream node went away: the pipeline is being torn down.
    Disconnected,
}

enum Received {
    Message(usize, Message),
    Closed,
    Control(Control),
    ControlClosed,
}

/// One incoming edge.
pub struct Edge {
    pub receiver: Receiver<Message>,
    /// The node's input this edge feeds (`$dead_letter` is one input fed by many edges).
    pub input: usize,
}

#[derive(Default)]
struct EdgeState {
    /// The barrier this edge delivered and is waiting on the others with.
    blocked: Option<u64>,
    ended: bool,
    idle: bool,
    watermark: Option<i64>,
    /// The last watermark before the end-of-input maximum, kept in snapshots.
    finite: Option<i64>,
    generator: Option<WatermarkGenerator>,
}

impl EdgeState {
    fn set_watermark(&mut self, w: i64) {
        if self.watermark.is_some_and(|current| current >= w) {
            return;
        }
        self.watermark = Some(w);
        if w != i64::MAX {
            self.finite = Some(w);
        }
    }
}

pub struct Inputs {
    edges: Vec<Edge>,
    state: Vec<EdgeState>,
    combined: Option<i64>,
    idle_sent: bool,
    control: Option<Receiver<Control>>,
    pending: VecDeque<Input>,
}

impl Inputs {
    pub fn new(edges: Vec<Edge>, control: Option<Receiver<Control>>) -> Self {
        let state = edges.iter().map(|_| EdgeState::default()).collect();
        Self {
            edges,
            state,
            combined: None,
            idle_sent: false,
            control,
            pending: VecDeque::new(),
        }
    }

    /// Derives each edge's watermark from its rows' `column`, less `delay`.
    pub fn with_event_time(mut self, column: &str, delay: Duration) -> Self {
        for s in &mut self.state {
            s.generator = Some(WatermarkGenerator::new(column, delay, s.watermark));
        }
        self
    }

    /// Resumes from a snapshot's per-edge watermarks (ignored if the wiring changed).
    pub fn restore(&mut self, watermarks: &[Option<i64>]) {
        if watermarks.len() != self.state.len() {
            if !watermarks.is_empty() {
                tracing::warn!(
                    "the node's inputs changed since the checkpoint: their watermarks start afresh"
                );
            }
            return;
        }
        for (s, w) in self.state.iter_mut().zip(watermarks) {
            s.watermark = *w;
            s.finite = *w;
            if let Some(g) = &mut s.generator {
                g.restore(*w);
            }
        }
        self.combined = self.live_minimum();
    }

    /// Each edge's watermark for a snapshot, without the end-of-input maximum.
    pub fn snapshot(&self) -> Vec<Option<i64>> {
        self.state.iter().map(|s| s.finite).collect()
    }

    /// Control messages already queued (read at the end, so a final commit is not lost).
    pub fn pending_control(&self) -> Vec<Control> {
        self.control
            .as_ref()
            .map(|c| c.try_iter().collect())
            .unwrap_or_default()
    }

    pub fn next(&mut self) -> Result<Input> {
        loop {
            if let Some(input) = self.pending.pop_front() {
                return Ok(input);
            }
            match self.receive() {
                Received::Control(c) => return Ok(Input::Control(c)),
                Received::ControlClosed => self.control = None,
                Received::Closed => return Ok(Input::Disconnected),
                Received::Message(e, message) => {
                    if let Some(input) = self.on_message(e, message)? {
                        return Ok(input);
                    }
                }
            }
        }
    }

    fn on_message(&mut self, e: usize, message: Message) -> Result<Option<Input>> {
        let s = &mut self.state[e];
        match message {
            Message::Batch(batch) => {
                s.idle = false;
                self.idle_sent = false;
                if let Some(g) = &mut s.generator {
                    g.observe(&batch)?;
                }
                return Ok(Some(Input::Batch(self.edges[e].input, batch)));
            }
            Message::Watermark(w) => {
                s.idle = false;
                self.idle_sent = false;
                // With its own event time the node ignores upstream watermarks, but
                // for the end of input.
                if s.generator.is_none() || w == i64::MAX {
                    s.set_watermark(w);
                    self.advance();
                }
            }
            Message::Idle => {
                s.idle = true;
                self.advance();
                self.check_idle();
            }
            Message::Barrier(epoch) => {
                s.blocked = Some(epoch);
                self.align();
            }
            Message::End => {
                s.ended = true;
                self.align();
                self.advance();
                if self.state.iter().all(|s| s.ended) {
                    self.pending.push_back(Input::End);
                }
            }
        }
        Ok(None)
    }

    fn receive(&self) -> Received {
        let mut select = Select::new();
        let mut which = Vec::new();
        for (i, edge) in self.edges.iter().enumerate() {
            if self.state[i].blocked.is_none() && !self.state[i].ended {
                select.recv(&edge.receiver);
                which.push(Some(i));
            }
        }
        if let Some(c) = &self.control {
            select.recv(c);
            which.push(None);
        }
        let op = select.select();
        match which[op.index()] {
            Some(i) => match op.recv(&self.edges[i].receiver) {
                Ok(m) => Received::Message(i, m),
                Err(_) => Received::Closed,
            },
            None => match op.recv(self.control.as_ref().expect("selected")) {
                Ok(c) => Received::Control(c),
                Err(_) => Received::ControlClosed,
            },
        }
    }

    /// Releases a barrier once every live edge has delivered it, after the watermarks
    /// the node derives itself have moved to what the epoch's rows say.
    fn align(&mut self) {
        let Some(epoch) = self.state.iter().find_map(|s| s.blocked) else {
            return;
        };
        if !self.state.iter().all(|s| s.blocked.is_some() || s.ended) {
            return;
        }
        for s in &mut self.state {
            s.blocked = None;
            if let Some(w) = s.generator.as_ref().and_then(WatermarkGenerator::current) {
                s.set_watermark(w);
            }
        }
        self.advance();
        self.pending.push_back(Input::Barrier(epoch));
    }

    /// The minimum over edges that are neither ended nor idle, if each has a watermark.
    fn live_minimum(&self) -> Option<i64> {
        let live = self.state.iter().filter(|s| !s.ended && !s.idle);
        live.map(|s| s.watermark).min().flatten()
    }

    fn advance(&mut self) {
        let Some(min) = self.live_minimum() else {
            return;
        };
        if self.combined.is_none_or(|c| min > c) {
            self.combined = Some(min);
            self.pending.push_back(Input::Watermark(min));
        }
    }

    fn check_idle(&mut self) {
        let live = self.state.iter().filter(|s| !s.ended);
        if !self.idle_sent && live.clone().count() > 0 && live.clone().all(|s| s.idle) {
            self.idle_sent = true;
            self.pending.push_back(Input::Idle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::{unbounded, Sender};

    fn inputs(n: usize) -> (Vec<Sender<Message>>, Inputs) {
        let (senders, edges): (Vec<_>, Vec<_>) = (0..n)
            .map(|input| {
                let (tx, receiver) = unbounded();
                (tx, Edge { receiver, input })
            })
            .unzip();
        (senders, Inputs::new(edges, None))
    }

    fn next(inputs: &mut Inputs) -> Input {
        inputs.next().unwrap()
    }

    #[test]
    fn barrier_waits_for_every_input_and_holds_the_early_one() {
        let (tx, mut inputs) = inputs(2);
        tx[0].send(Message::Barrier(1)).unwrap();
        tx[0].send(Message::Watermark(5)).unwrap(); // after the barrier: must wait
        tx[1].send(Message::Watermark(3)).unwrap();
        tx[1].send(Message::Barrier(1)).unwrap();
        // b's 3 alone is no minimum: a has none yet.
        assert!(matches!(next(&mut inputs), Input::Barrier(1)));
        // a's watermark 5 is read only now; b is at 3, so the minimum is 3.
        assert!(matches!(next(&mut inputs), Input::Watermark(3)));
        tx[0].send(Message::End).unwrap();
        tx[1].send(Message::End).unwrap();
        match next(&mut inputs) {
            Input::End => {}
            Input::Watermark(5) => assert!(matches!(next(&mut inputs), Input::End)),
            _ => panic!("expected End or Watermark(5)"),
        }
    }

    #[test]
    fn ended_input_stops_holding_back_the_watermark() {
        let (tx, mut inputs) = inputs(2);
        tx[0].send(Message::Watermark(10)).unwrap();
        tx[1].send(Message::End).unwrap();
        assert!(matches!(next(&mut inputs), Input::Watermark(10)));
        drop(tx);
        assert!(matches!(next(&mut inputs), Input::Disconnected));
    }

    /// Feeds messages in a fixed order (a real `next` picks among ready edges at random)
    /// and returns the watermarks released.
    fn feed(inputs: &mut Inputs, messages: Vec<(usize, Message)>) -> Vec<i64> {
        for (e, m) in messages {
            assert!(inputs.on_message(e, m).unwrap().is_none());
        }
        let released = inputs.pending.drain(..).filter_map(|i| match i {
            Input::Watermark(w) => Some(w),
            _ => None,
        });
        released.collect()
    }

    #[test]
    fn an_idle_input_stops_holding_back_the_watermark_until_it_has_data() {
        let (_tx, mut inputs) = inputs(2);
        let w = |w| Message::Watermark(w);
        assert_eq!(feed(&mut inputs, vec![(0, w(10))]), Vec::<i64>::new());
        assert_eq!(feed(&mut inputs, vec![(1, Message::Idle)]), vec![10]);
        // Active again and behind: the combined watermark does not go back.
        assert_eq!(
            feed(&mut inputs, vec![(1, w(4)), (0, w(20))]),
            Vec::<i64>::new()
        );
        assert_eq!(feed(&mut inputs, vec![(1, w(15))]), vec![15]);
    }

    #[test]
    fn every_input_idle_makes_the_node_idle() {
        let (tx, mut inputs) = inputs(2);
        tx[0].send(Message::Idle).unwrap();
        tx[1].send(Message::Idle).unwrap();
        assert!(matches!(next(&mut inputs), Input::Idle));
    }

    #[test]
    fn own_event_time_moves_at_the_barrier_and_the_end_maximum_is_not_kept() {
        use arrow::array::TimestampMicrosecondArray;
        use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
        use std::sync::Arc;
        let (tx, inputs) = inputs(1);
        let mut inputs = inputs.with_event_time("ts", Duration::from_micros(10));
        let ts = DataType::Timestamp(TimeUnit::Microsecond, None);
        let schema = Arc::new(Schema::new(vec![Field::new("ts", ts, false)]));
        let rows = TimestampMicrosecondArray::from(vec![100, 50]);
        let batch = RecordBatch::try_new(schema, vec![Arc::new(rows)]).unwrap();
        tx[0].send(Message::Watermark(1_000)).unwrap(); // upstream's: ignored
        tx[0].send(Message::Batch(batch)).unwrap();
        tx[0].send(Message::Barrier(1)).unwrap();
        tx[0].send(Message::Watermark(i64::MAX)).unwrap();
        assert!(matches!(next(&mut inputs), Input::Batch(0, _)));
        assert!(matches!(next(&mut inputs), Input::Watermark(90)));
        assert!(matches!(next(&mut inputs), Input::Barrier(1)));
        assert!(matches!(next(&mut inputs), Input::Watermark(i64::MAX)));
        assert_eq!(inputs.snapshot(), vec![Some(90)]);
    }
}
