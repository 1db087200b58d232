//! One setting for every exporter an app sends its telemetry to: stdout, CloudWatch Logs,
//! CloudWatch Metrics, X-Ray and OpenTelemetry (or any other [`Exporter`]), chosen in code or
//! from the environment.
//!
//! [`Exporters::install`] adds the chosen exporters to an [`Observability`] and keeps stdout for
//! whatever no other exporter takes: log lines stay on stdout unless CloudWatch Logs takes them,
//! EMF documents unless CloudWatch Metrics does. So no record is written twice, and none is
//! left without a destination.
//!
//! From the environment ([`Exporters::from_env`]):
//!
//! | variable | effect |
//! |---|---|
//! | `LIFT_EXPORTERS` | the exporters, comma-separated: `stdout`, `cloudwatch-logs`, `cloudwatch-metrics`, `xray`; unset: each one its own variable turns on, as below |
//! | `LIFT_CLOUDWATCH_LOG_GROUP` | CloudWatch Logs into this group (required for `cloudwatch-logs`) |
//! | `LIFT_CLOUDWATCH_METRICS=1` | CloudWatch Metrics through PutMetricData |
//! | `AWS_XRAY_DAEMON_ADDRESS` | X-Ray through the daemon (Lambda sets it when active tracing is on) |
//!
//! OpenTelemetry takes a span exporter of the user's choice, so it is turned on in code, with
//! [`Exporters::export_to`] and `lift::observability::otel::OtelExporter`.
//!
//! ```no_run
//! use lift::observability::Observability;
//! use lift::prelude::*;
//! use lift_aws::exporters::Exporters;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lift::BoxError> {
//!     let obs = Exporters::from_env().await?.install(Observability::from_env());
//!     App::new()
//!         .observability(obs)
//!         .get("/hello", |_ctx: Context| async { "hello" })
//!         .run()
//!         .await
//! }
//! ```

use std::fmt;

use lift::observability::xray::XRayExporter;
use lift::observability::{Exporter, NullExporter, Observability, RecordKind, StdoutExporter};

/// The environment variable that lists the exporters.
pub const ENV_EXPORTERS: &str = "LIFT_EXPORTERS";

/// An exporter added in code, kept until [`Exporters::install`], with the kinds it takes.
struct Added {
    logs: bool,
    metrics: bool,
    add: Box<dyn FnOnce(Observability) -> Observability + Send>,
}

/// The exporters an app uses. See the [module docs](self).
#[derive(Default)]
pub struct Exporters {
    stdout: bool,
    #[cfg(feature = "cloudwatch-logs")]
    cloudwatch_logs: Option<crate::logs::CloudWatchLogsExporter>,
    #[cfg(feature = "cloudwatch-metrics")]
    cloudwatch_metrics: Option<crate::metrics::CloudWatchMetricsExporter>,
    xray: Option<XRayExporter>,
    added: Vec<Added>,
}

impl fmt::Debug for Exporters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// Why the environment's choice of exporters cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportersError(String);

impl fmt::Display for ExportersError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExportersError {}

impl Exporters {
    /// Stdout only: log lines and EMF documents, the embedded default.
    pub fn new() -> Self {
        Exporters {
            stdout: true,
            ..Exporters::default()
        }
    }

    /// No stdout, even for the kinds no other exporter takes (they are then not produced).
    pub fn without_stdout(mut self) -> Self {
        self.stdout = false;
        self
    }

    /// Send log lines to CloudWatch Logs (they leave stdout).
    #[cfg(feature = "cloudwatch-logs")]
    pub fn cloudwatch_logs(mut self, exporter: crate::logs::CloudWatchLogsExporter) -> Self {
        self.cloudwatch_logs = Some(exporter);
        self
    }

    /// Send metrics to CloudWatch through PutMetricData (EMF documents leave stdout).
    #[cfg(feature = "cloudwatch-metrics")]
    pub fn cloudwatch_metrics(
        mut self,
        exporter: crate::metrics::CloudWatchMetricsExporter,
    ) -> Self {
        self.cloudwatch_metrics = Some(exporter);
        self
    }

    /// Send spans to X-Ray.
    pub fn xray(mut self, exporter: XRayExporter) -> Self {
        self.xray = Some(exporter);
        self
    }

    /// Export to any other exporter too, an `OtelExporter` for OpenTelemetry for one. The kinds
    /// it takes leave stdout, as for the built-in ones.
    pub fn export_to(mut self, exporter: impl Exporter) -> Self {
        self.added.push(Added {
            logs: exporter.accepts(RecordKind::Log),
            metrics: exporter.accepts(RecordKind::Metrics),
            add: Box::new(move |obs: Observability| obs.export_to(exporter)),
        });
        self
    }

    /// The exporters the environment asks for (see the [module docs](self)). The AWS SDK's
    /// configuration is loaded only when a CloudWatch exporter is asked for (`AWS_ENDPOINT_URL`
    /// and the other SDK variables apply). Naming an exporter this build does not have (its
    /// feature is off), an unknown one, or `cloudwatch-logs` without a log group, is an error.
    pub async fn from_env() -> Result<Self, ExportersError> {
        let choice = Choice::from_env(|name| std::env::var(name).ok())?;
        let mut out = Exporters {
            stdout: choice.stdout,
            ..Exporters::default()
        };
        if choice.xray {
            out.xray = Some(XRayExporter::from_env());
        }
        #[cfg(any(feature = "cloudwatch-logs", feature = "cloudwatch-metrics"))]
        if choice.cloudwatch_logs || choice.cloudwatch_metrics {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            #[cfg(feature = "cloudwatch-logs")]
            if choice.cloudwatch_logs {
                let logs =
                    crate::logs::CloudWatchLogsExporter::from_env(&config).ok_or_else(|| {
                        ExportersError(format!(
                            "cloudwatch-logs needs a log group: set {}",
                            crate::logs::ENV_LOG_GROUP
                        ))
                    })?;
                out.cloudwatch_logs = Some(logs);
            }
            #[cfg(feature = "cloudwatch-metrics")]
            if choice.cloudwatch_metrics {
                out.cloudwatch_metrics =
                    Some(crate::metrics::CloudWatchMetricsExporter::new(&config));
            }
        }
        Ok(out)
    }

    /// The exporters chosen, by name, in the order they are added.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        let (logs, metrics) = self.stdout_kinds();
        if logs || metrics {
            names.push("stdout");
        }
        #[cfg(feature = "cloudwatch-logs")]
        if self.cloudwatch_logs.is_some() {
            names.push("cloudwatch-logs");
        }
        #[cfg(feature = "cloudwatch-metrics")]
        if self.cloudwatch_metrics.is_some() {
            names.push("cloudwatch-metrics");
        }
        if self.xray.is_some() {
            names.push("xray");
        }
        names.extend(self.added.iter().map(|_| "added"));
        names
    }

    /// Which kinds stdout keeps: those no other exporter takes.
    fn stdout_kinds(&self) -> (bool, bool) {
        if !self.stdout {
            return (false, false);
        }
        #[allow(unused_mut)]
        let (mut logs, mut metrics) = (
            !self.added.iter().any(|a| a.logs),
            !self.added.iter().any(|a| a.metrics),
        );
        #[cfg(feature = "cloudwatch-logs")]
        if self.cloudwatch_logs.is_some() {
            logs = false;
        }
        #[cfg(feature = "cloudwatch-metrics")]
        if self.cloudwatch_metrics.is_some() {
            metrics = false;
        }
        (logs, metrics)
    }

    /// Add the exporters to `obs`, stdout for the kinds no other one takes.
    pub fn install(self, obs: Observability) -> Observability {
        let nothing = self.names().is_empty();
        let mut obs = match self.stdout_kinds() {
            (true, true) => obs.export_to(StdoutExporter::new()),
            (true, false) => obs.export_to(StdoutExporter::logs_only()),
            (false, true) => obs.export_to(StdoutExporter::metrics_only()),
            // Replaces the defaults (stdout, X-Ray under active tracing) when nothing else is
            // chosen: `without_stdout` alone means no telemetry, not the defaults.
            (false, false) if nothing => obs.export_to(NullExporter),
            (false, false) => obs,
        };
        #[cfg(feature = "cloudwatch-logs")]
        if let Some(e) = self.cloudwatch_logs {
            obs = obs.export_to(e);
        }
        #[cfg(feature = "cloudwatch-metrics")]
        if let Some(e) = self.cloudwatch_metrics {
            obs = obs.export_to(e);
        }
        if let Some(e) = self.xray {
            obs = obs.export_to(e);
        }
        for added in self.added {
            obs = (added.add)(obs);
        }
        obs
    }
}

/// Which exporters the environment asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Choice {
    stdout: bool,
    cloudwatch_logs: bool,
    cloudwatch_metrics: bool,
    xray: bool,
}

impl Choice {
    fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Choice, ExportersError> {
        let set = |name: &str| var(name).is_some_and(|v| !v.trim().is_empty());
        let on = |name: &str| {
            var(name)
                .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true"))
        };
        let Some(list) = var(ENV_EXPORTERS).filter(|v| !v.trim().is_empty()) else {
            return Ok(Choice {
                stdout: true,
                cloudwatch_logs: set("LIFT_CLOUDWATCH_LOG_GROUP"),
                cloudwatch_metrics: on("LIFT_CLOUDWATCH_METRICS"),
                xray: set("AWS_XRAY_DAEMON_ADDRESS"),
            });
        };
        let mut choice = Choice::default();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let slot = match name.to_ascii_lowercase().as_str() {
                "stdout" => &mut choice.stdout,
                "cloudwatch-logs" => &mut choice.cloudwatch_logs,
                "cloudwatch-metrics" => &mut choice.cloudwatch_metrics,
                "xray" => &mut choice.xray,
                _ => {
                    return Err(ExportersError(format!(
                        "{ENV_EXPORTERS}: unknown exporter {name:?} \
                         (known: stdout, cloudwatch-logs, cloudwatch-metrics, xray)"
                    )))
                }
            };
            *slot = true;
        }
        let missing = [
            (
                choice.cloudwatch_logs && !cfg!(feature = "cloudwatch-logs"),
                "cloudwatch-logs",
            ),
            (
                choice.cloudwatch_metrics && !cfg!(feature = "cloudwatch-metrics"),
                "cloudwatch-metrics",
            ),
        ];
        if let Some((_, name)) = missing.iter().find(|(m, _)| *m) {
            return Err(ExportersError(format!(
                "{ENV_EXPORTERS} names {name}, but lift-aws was built without its `{name}` feature"
            )));
        }
        Ok(choice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn choice(vars: &[(&str, &str)]) -> Result<Choice, ExportersError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Choice::from_env(|name| vars.get(name).cloned())
    }

    #[test]
    fn without_a_list_each_exporter_follows_its_own_variable() {
        assert_eq!(
            choice(&[]).unwrap(),
            Choice {
                stdout: true,
                ..Choice::default()
            }
        );
        assert_eq!(
            choice(&[
                ("LIFT_CLOUDWATCH_LOG_GROUP", "/app"),
                ("LIFT_CLOUDWATCH_METRICS", "true"),
                ("AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000"),
            ])
            .unwrap(),
            Choice {
                stdout: true,
                cloudwatch_logs: true,
                cloudwatch_metrics: true,
                xray: true,
            }
        );
    }

    #[test]
    fn a_list_names_exactly_the_exporters() {
        let c = choice(&[
            ("LIFT_EXPORTERS", " xray , STDOUT"),
            ("LIFT_CLOUDWATCH_LOG_GROUP", "/app"),
        ])
        .unwrap();
        assert_eq!(
            c,
            Choice {
                stdout: true,
                xray: true,
                ..Choice::default()
            }
        );
        assert_eq!(
            choice(&[("LIFT_EXPORTERS", "stdout,kafka")])
                .unwrap_err()
                .to_string(),
            "LIFT_EXPORTERS: unknown exporter \"kafka\" \
             (known: stdout, cloudwatch-logs, cloudwatch-metrics, xray)"
        );
    }

    #[test]
    fn stdout_keeps_what_no_other_exporter_takes() {
        let only = Exporters::new();
        assert_eq!(only.names(), ["stdout"]);
        let spans_elsewhere = Exporters::new().xray(XRayExporter::with_address("127.0.0.1:9"));
        assert_eq!(spans_elsewhere.stdout_kinds(), (true, true));
        let logs_elsewhere = Exporters::new().export_to(lift::observability::MemoryExporter::new());
        assert_eq!(logs_elsewhere.stdout_kinds(), (false, false));
        assert_eq!(logs_elsewhere.names(), ["added"]);
        assert_eq!(
            Exporters::new().without_stdout().names(),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn without_stdout_and_nothing_else_replaces_the_defaults() {
        // `Observability::new()` has the stdout default; nothing chosen means nothing written.
        let obs = Exporters::new()
            .without_stdout()
            .install(lift::observability::Observability::new());
        let names: Vec<String> = obs.stats().exporters.into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["null"]);
        let obs = Exporters::new().install(lift::observability::Observability::new());
        let names: Vec<String> = obs.stats().exporters.into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["stdout"]);
    }
}
