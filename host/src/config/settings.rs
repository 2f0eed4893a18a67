//! The `[pipeline]` section: the host's own settings, every key documented.

use std::path::PathBuf;
use std::time::Duration;

use ferry_plugin_api::sdk::duration::HumanDuration;
use serde::Deserialize;
use serde_json::Value;

use super::Problems;

/// `[pipeline]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSettings {
    /// Names the pipeline in logs and its default state folder.
    pub name: String,
    /// How often a checkpoint (an epoch) is taken. Default 10s.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval: HumanDuration,
    /// Most rows a source emits per poll. Default 8192.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// `"<duration>"`: after a source reports no data, poll it again after this long
    /// (default 100ms). `"available_now"`: process what is there, then stop (Spark's
    /// availableNow).
    #[serde(default)]
    pub trigger: Trigger,
    /// Where checkpoints live. Default `./state/<name>`.
    pub state_dir: Option<PathBuf>,
    /// How many checkpoints are kept (with the operator state files they reference).
    /// Default 2.
    #[serde(default = "default_retain_checkpoints")]
    pub retain_checkpoints: usize,
    /// Extra folders to load plugin libraries from, relative to the pipeline file.
    #[serde(default)]
    pub plugin_path: Vec<PathBuf>,
    /// What to do with records a component rejects.
    #[serde(default)]
    pub errors: ErrorPolicy,
    /// What to do when a node fails.
    #[serde(default)]
    pub restart: RestartPolicy,
}

impl PipelineSettings {
    /// Stands in for a `[pipeline]` section that had problems, so the rest of the file
    /// can still be checked.
    pub(super) fn fallback() -> Self {
        serde_json::from_str(r#"{"name": "(invalid)"}"#).expect("defaults deserialize")
    }
}

fn default_checkpoint_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}

fn default_retain_checkpoints() -> usize {
    2
}

fn default_batch_size() -> usize {
    8192
}

/// When sources are polled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Poll again this long after a source reported no data.
    Interval(Duration),
    /// Stop once every source has reported no data.
    AvailableNow,
}

impl Default for Trigger {
    fn default() -> Self {
        Trigger::Interval(Duration::from_millis(100))
    }
}

impl<'de> Deserialize<'de> for Trigger {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "available_now" {
            return Ok(Trigger::AvailableNow);
        }
        ferry_plugin_api::sdk::duration::parse_duration(&s)
            .map(Trigger::Interval)
            .map_err(|e| {
                serde::de::Error::custom(format!("expected \"available_now\" or a duration: {e}"))
            })
    }
}

/// `errors = { tolerance = "none" | "all" }`
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorPolicy {
    #[serde(default)]
    pub tolerance: Tolerance,
}

/// Kafka Connect's `errors.tolerance`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tolerance {
    /// A rejected record fails the task, naming the record's position and the reason.
    #[default]
    None,
    /// Rejected records go to the sinks that read `$dead_letter`.
    All,
}

/// `restart = { attempts = 3, backoff = "1s" }`: restarts from the last checkpoint; the
/// backoff doubles after each attempt.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    #[serde(default = "default_backoff")]
    pub backoff: HumanDuration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            attempts: default_attempts(),
            backoff: default_backoff(),
        }
    }
}

fn default_attempts() -> u32 {
    3
}

fn default_backoff() -> HumanDuration {
    HumanDuration(Duration::from_secs(1))
}

/// Parses `[pipeline]`, reporting a missing section or bad keys.
pub(super) fn parse(section: Option<Value>, problems: &mut Problems) -> Option<PipelineSettings> {
    let Some(section) = section else {
        problems.add(
            &["pipeline"],
            None,
            "missing section [pipeline] (it needs at least `name`)",
        );
        return None;
    };
    match ferry_plugin_api::sdk::parse_options::<PipelineSettings>(&section.to_string()) {
        Ok(s) => Some(s),
        Err(e) => {
            let message = e.to_string();
            problems.add(&["pipeline"], offending_key(&message), &message);
            None
        }
    }
}

/// The option an error message is about: `unknown field `x`` or `x.y: ...`.
pub fn offending_key(message: &str) -> Option<&str> {
    if let Some(rest) = message.split("unknown field `").nth(1) {
        return rest.split('`').next();
    }
    let (path, _) = message.split_once(": ")?;
    let key = path.split(['.', '[']).next()?;
    (!key.is_empty() && !key.contains(' ')).then_some(key)
}
