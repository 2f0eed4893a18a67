//! One poll's records decoded on several threads. Decoding is most of a text source's
//! work (a file source reads a whole file's records from memory), so a single source
//! thread otherwise caps a pipeline at one core's decode speed. The records are cut into
//! contiguous runs, each decoded by a decoder of its own on a thread of its own, and
//! the results come back in input order with indices into the whole input: the rows,
//! rejections and record counts are exactly those of one decoder reading them all.

use arrow::error::ArrowError;

use super::{CsvDecoder, Decoded, JsonDecoder};
use crate::sdk::threads::Workers;

/// Fewer records than this per thread are decoded in one run: handing a run to another
/// thread (waking it) would cost more than it saves.
const MIN_RUN: usize = 1024;

/// A decoder of records into rows, which a thread can own.
pub trait RecordDecoder: Send {
    /// As [`JsonDecoder::decode`] and [`CsvDecoder::decode`].
    fn decode(&mut self, records: &[&[u8]]) -> Result<Decoded, ArrowError>;
}

impl RecordDecoder for JsonDecoder {
    fn decode(&mut self, records: &[&[u8]]) -> Result<Decoded, ArrowError> {
        JsonDecoder::decode(self, records)
    }
}

impl RecordDecoder for CsvDecoder {
    fn decode(&mut self, records: &[&[u8]]) -> Result<Decoded, ArrowError> {
        CsvDecoder::decode(self, records)
    }
}

/// Decoders, one per thread that may decode at once.
pub struct ParallelDecoder<D> {
    decoders: Vec<D>,
    workers: Workers,
}

impl<D: RecordDecoder> ParallelDecoder<D> {
    /// A decoder `make` makes for each of the `workers`' threads.
    pub fn new(workers: Workers, mut make: impl FnMut() -> D) -> Self {
        let made: Result<_, std::convert::Infallible> = Self::try_new(workers, || Ok(make()));
        made.unwrap_or_else(|never| match never {})
    }

    /// As [`new`](Self::new), with a `make` that may fail.
    pub fn try_new<E>(workers: Workers, make: impl FnMut() -> Result<D, E>) -> Result<Self, E> {
        let decoders = std::iter::repeat_with(make).take(workers.threads());
        Ok(Self {
            decoders: decoders.collect::<Result<_, E>>()?,
            workers,
        })
    }

    /// The first decoder, for questions about one record (is it a comment?).
    pub fn first(&self) -> &D {
        &self.decoders[0]
    }

    /// The first decoder, for work on one record (salvaging a rejected one).
    pub fn first_mut(&mut self) -> &mut D {
        &mut self.decoders[0]
    }

    /// `records` decoded in runs of at least [`MIN_RUN`], one per thread: what each run decoded to, in input order, its rejected
    /// records' indices and its rows' sources counted in `records` (no runs for no
    /// records). A decoder's panic is the caller's.
    pub fn decode(&mut self, records: &[&[u8]]) -> Result<Vec<Decoded>, ArrowError> {
        let runs = (records.len() / MIN_RUN).clamp(1, self.decoders.len());
        let size = records.len().div_ceil(runs).max(1);
        let work: Vec<_> = records.chunks(size).zip(&mut self.decoders).collect();
        let results = self
            .workers
            .each(work, |(run, decoder)| decoder.decode(run));
        let mut decoded = Vec::with_capacity(runs);
        for (run, result) in results.into_iter().enumerate() {
            let (mut d, start) = (result?, run * size);
            d.rejected.iter_mut().for_each(|r| r.index += start);
            d.row_sources.iter_mut().for_each(|s| *s += start);
            decoded.push(d);
        }
        Ok(decoded)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn decoder(threads: usize) -> ParallelDecoder<JsonDecoder> {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
        ParallelDecoder::new(Workers::new("test", threads), || {
            JsonDecoder::new(schema.clone())
        })
    }

    /// Records 0..count, every 1000th malformed.
    fn records(count: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|i| match i % 1000 {
                999 => format!("{{\"n\": {i}").into_bytes(),
                _ => format!("{{\"n\": {i}}}").into_bytes(),
            })
            .collect()
    }

    #[test]
    fn runs_come_back_in_order_with_indices_into_the_whole_input() {
        let owned = records(10_000);
        let input: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let runs = decoder(3).decode(&input).unwrap();
        assert_eq!(runs.len(), 3);
        let mut values = Vec::new();
        let mut sources = Vec::new();
        let mut rejected = Vec::new();
        for run in &runs {
            let column = run.batch.column(0).as_any().downcast_ref::<Int64Array>();
            values.extend(column.unwrap().values().iter().copied());
            sources.extend(run.row_sources.iter().copied());
            rejected.extend(run.rejected.iter().map(|r| r.index));
        }
        let kept: Vec<usize> = (0..10_000).filter(|i| i % 1000 != 999).collect();
        assert_eq!(sources, kept);
        assert_eq!(values, kept.iter().map(|&i| i as i64).collect::<Vec<_>>());
        assert_eq!(
            rejected,
            (0..10).map(|k| k * 1000 + 999).collect::<Vec<_>>()
        );
        assert_eq!(runs[1].rejected[0].raw, owned[3999]);
    }

    #[test]
    fn few_records_are_one_run() {
        let owned = records(1500);
        let input: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let runs = decoder(4).decode(&input).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].batch.num_rows(), 1499);
    }
}
