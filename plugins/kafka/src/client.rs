//! What the source and sink share: the librdkafka configuration built from the options,
//! the client context that routes librdkafka's errors to the log and records delivery
//! failures, and the start-up check that the cluster answers.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferry_plugin_api::log::{debug, error, info, warn};
use ferry_plugin_api::sdk::{Error, Result};
use rdkafka::client::Client;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::ClientContext;

/// librdkafka settings: ferry's, then the user's `kafka = { ... }` ones over them.
pub fn config(
    bootstrap_servers: &str,
    ours: &[(&str, &str)],
    passthrough: &BTreeMap<String, serde_json::Value>,
) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap_servers);
    for (key, value) in ours {
        config.set(*key, *value);
    }
    for (key, value) in passthrough {
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        config.set(key, value);
    }
    config
}

/// Fails with a message naming the servers unless the cluster answers within `timeout`.
pub fn check_reachable<C: ClientContext>(
    client: &Client<C>,
    bootstrap_servers: &str,
    timeout: Duration,
) -> Result<()> {
    match client.fetch_metadata(None, timeout) {
        Ok(metadata) => {
            info!(
                "connected to Kafka at {bootstrap_servers} ({} brokers)",
                metadata.brokers().len()
            );
            Ok(())
        }
        Err(e) => Err(Error::msg(format!(
            "cannot reach Kafka at {bootstrap_servers} within {}s: {e}",
            timeout.as_secs_f64()
        ))),
    }
}

/// The client context: librdkafka's log lines and errors go to ferry's log, and the
/// first failed delivery is kept for the sink to fail on.
#[derive(Default)]
pub struct Context {
    failed: Mutex<Option<String>>,
    /// The last error logged and when: during an outage librdkafka reports the same
    /// one at every poll.
    last_error: Mutex<Option<(String, Instant)>>,
}

impl Context {
    /// The first delivery that failed, if any, taken.
    pub fn take_failure(&self) -> Option<String> {
        self.failed.lock().unwrap().take()
    }
}

impl ClientContext for Context {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical => {
                error!("librdkafka {fac}: {message}")
            }
            // librdkafka retries what it logs as errors (a refused connection); failures
            // that matter reach ferry as errors of their own.
            RDKafkaLogLevel::Error | RDKafkaLogLevel::Warning => {
                warn!("librdkafka {fac}: {message}")
            }
            _ => debug!("librdkafka {fac}: {message}"),
        }
    }

    /// Connection errors are retried by librdkafka itself; they are worth a warning,
    /// not a failure. The same one is logged at most every 10 s.
    fn error(&self, error: KafkaError, reason: &str) {
        let message = format!("librdkafka: {error}: {reason}");
        let mut last = self.last_error.lock().unwrap();
        let repeated = last
            .as_ref()
            .is_some_and(|(m, at)| *m == message && at.elapsed() < Duration::from_secs(10));
        if !repeated {
            warn!("{message}");
            *last = Some((message, Instant::now()));
        }
    }
}

impl ConsumerContext for Context {}

impl ProducerContext for Context {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, message)) = result {
            let mut failed = self.failed.lock().unwrap();
            if failed.is_none() {
                *failed = Some(format!(
                    "delivery to {}[{}] failed: {e}",
                    message.topic(),
                    message.partition()
                ));
            }
        }
    }
}
