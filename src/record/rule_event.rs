//! Rule events in the shared vocabulary: what the rules stage reports and the store and the
//! metrics count, so the store never imports from the rules above it.

/// What a rule did to lines, as the store and the metrics count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// A drop rule removed the lines.
    Dropped,
    /// A sample rule removed the lines (they were not the one in N kept).
    SampledOut,
    /// A redaction rule replaced values.
    Redacted,
}

impl RuleAction {
    /// The name stored in `rule_events.action` and the metric's `action` label.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleAction::Dropped => "dropped",
            RuleAction::SampledOut => "sampled_out",
            RuleAction::Redacted => "redacted",
        }
    }
}

/// One rule's count for one request: what the write path stores and the metrics add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleEvent {
    /// The rule's name (a builtin redaction's name, or the configured `name`).
    pub rule: String,
    /// What it did.
    pub action: RuleAction,
    /// Lines removed, or values replaced.
    pub count: i64,
}
