//! A node's inputs: batches in arrival order, watermarks combined (the minimum over
//! live inputs), and barriers aligned — an input that delivered barrier `e` is not read
//! again until every input has, so each snapshot covers exactly the epoch's data.

use std::collections::VecDeque;

use arrow::array::RecordBatch;
use crossbeam_channel::{Receiver, Select};

use super::message::{Control, Message};

/// The next thing a node must handle.
pub enum Input {
    Batch(RecordBatch),
    /// The combined watermark moved forward to this.
    Watermark(i64),
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

pub struct Inputs {
    receivers: Vec<Receiver<Message>>,
    /// The barrier an input delivered and is waiting on the others with.
    blocked: Vec<Option<u64>>,
    ended: Vec<bool>,
    watermarks: Vec<i64>,
    watermark: i64,
    control: Option<Receiver<Control>>,
    pending: VecDeque<Input>,
}

impl Inputs {
    pub fn new(receivers: Vec<Receiver<Message>>, control: Option<Receiver<Control>>) -> Self {
        let n = receivers.len();
        Self {
            receivers,
            blocked: vec![None; n],
            ended: vec![false; n],
            watermarks: vec![i64::MIN; n],
            watermark: i64::MIN,
            control,
            pending: VecDeque::new(),
        }
    }

    /// Control messages already queued (read at the end, so a final commit is not lost).
    pub fn pending_control(&self) -> Vec<Control> {
        self.control
            .as_ref()
            .map(|c| c.try_iter().collect())
            .unwrap_or_default()
    }

    pub fn next(&mut self) -> Input {
        loop {
            if let Some(input) = self.pending.pop_front() {
                return input;
            }
            match self.receive() {
                Received::Control(c) => return Input::Control(c),
                Received::ControlClosed => self.control = None,
                Received::Closed => return Input::Disconnected,
                Received::Message(_, Message::Batch(b)) => return Input::Batch(b),
                Received::Message(i, Message::Watermark(w)) => {
                    self.watermarks[i] = self.watermarks[i].max(w);
                    self.advance_watermark();
                }
                Received::Message(i, Message::Barrier(epoch)) => {
                    self.blocked[i] = Some(epoch);
                    self.align();
                }
                Received::Message(i, Message::End) => {
                    self.ended[i] = true;
                    self.align();
                    self.advance_watermark();
                    if self.ended.iter().all(|e| *e) {
                        self.pending.push_back(Input::End);
                    }
                }
            }
        }
    }

    fn receive(&self) -> Received {
        let mut select = Select::new();
        let mut which = Vec::new();
        for (i, r) in self.receivers.iter().enumerate() {
            if self.blocked[i].is_none() && !self.ended[i] {
                select.recv(r);
                which.push(Some(i));
            }
        }
        if let Some(c) = &self.control {
            select.recv(c);
            which.push(None);
        }
        let op = select.select();
        match which[op.index()] {
            Some(i) => match op.recv(&self.receivers[i]) {
                Ok(m) => Received::Message(i, m),
                Err(_) => Received::Closed,
            },
            None => match op.recv(self.control.as_ref().expect("selected")) {
                Ok(c) => Received::Control(c),
                Err(_) => Received::ControlClosed,
            },
        }
    }

    /// Releases a barrier once every live input has delivered it.
    fn align(&mut self) {
        let Some(epoch) = self.blocked.iter().flatten().copied().next() else {
            return;
        };
        let all = (0..self.receivers.len()).all(|i| self.blocked[i].is_some() || self.ended[i]);
        if all {
            self.blocked.iter_mut().for_each(|b| *b = None);
            self.pending.push_back(Input::Barrier(epoch));
        }
    }

    fn advance_watermark(&mut self) {
        let live = (0..self.receivers.len()).filter(|i| !self.ended[*i]);
        let Some(min) = live.map(|i| self.watermarks[i]).min() else {
            return;
        };
        if min > self.watermark {
            self.watermark = min;
            self.pending.push_back(Input::Watermark(min));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::unbounded;

    #[test]
    fn barrier_waits_for_every_input_and_holds_the_early_one() {
        let (a_tx, a) = unbounded();
        let (b_tx, b) = unbounded();
        let mut inputs = Inputs::new(vec![a, b], None);
        a_tx.send(Message::Barrier(1)).unwrap();
        a_tx.send(Message::Watermark(5)).unwrap(); // after the barrier: must wait
        b_tx.send(Message::Watermark(3)).unwrap();
        b_tx.send(Message::Barrier(1)).unwrap();
        assert!(matches!(inputs.next(), Input::Barrier(1)));
        // a's watermark 5 is read only now; b is at 3, so the minimum is 3.
        assert!(matches!(inputs.next(), Input::Watermark(3)));
        a_tx.send(Message::End).unwrap();
        b_tx.send(Message::End).unwrap();
        // If b's End is read first, a's watermark 5 becomes the minimum before the end.
        match inputs.next() {
            Input::End => {}
            Input::Watermark(5) => assert!(matches!(inputs.next(), Input::End)),
            _ => panic!("expected End or Watermark(5)"),
        }
    }

    #[test]
    fn ended_input_stops_holding_back_the_watermark() {
        let (a_tx, a) = unbounded();
        let (b_tx, b) = unbounded();
        let mut inputs = Inputs::new(vec![a, b], None);
        a_tx.send(Message::Watermark(10)).unwrap();
        b_tx.send(Message::End).unwrap();
        assert!(matches!(inputs.next(), Input::Watermark(10)));
        drop(a_tx);
        assert!(matches!(inputs.next(), Input::Disconnected));
    }
}
