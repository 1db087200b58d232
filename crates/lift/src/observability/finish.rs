//! The end of an invocation's telemetry: its debug buffer written or dropped, its metrics (one
//! record per dimension-value set) and spans handed to the exporters, the process metrics with
//! them. Runs once, after the response (or from `Drop`, for an invocation that panicked or was
//! abandoned); what is recorded after it is counted as late.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::exporter::RecordKind;
use super::frame_state::FrameState;
use super::invocation::Telemetry;
use super::logger::Logger;
use super::settings::Settings;

impl Telemetry {
    /// End of the invocation: write or drop the debug buffer, and hand the metrics and the
    /// spans to the exporters. Runs once.
    pub(crate) fn finish(&self) {
        if self.finished.swap(true, Ordering::AcqRel) {
            return;
        }
        let settings = &self.settings;
        let failed = !self.succeeded.load(Ordering::Relaxed);
        // Buffered debug lines are written if the invocation failed or logged an error (lines
        // buffered after that error included), discarded otherwise.
        if failed || self.log.error_logged.load(Ordering::Relaxed) {
            Logger::process(settings.clone()).write_buffer(&self.log);
        } else {
            self.log.take_buffer();
        }
        let records = std::mem::take(&mut *self.records.lock().unwrap_or_else(|p| p.into_inner()));
        if settings.metrics_enabled && settings.pipeline.wants(RecordKind::Metrics) {
            let take = |f: &mut FrameState| (f.ids.tenant.clone(), std::mem::take(&mut f.metrics));
            let mut sets = Vec::with_capacity(1 + records.len());
            sets.push(take(&mut self.main_state()));
            for r in &records {
                sets.push(take(&mut r.state.lock().unwrap_or_else(|p| p.into_inner())));
            }
            let cold = self.cold_start && settings.cold_start_metric;
            super::flush::metrics(
                settings,
                sets,
                cold.then_some(self.function_name.as_str()),
                self.trace.trace_id.as_deref(),
            );
        }
        self.spans.flush(settings, &self.trace);
        settings.flush_process_metrics();
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        // An invocation that panicked or was abandoned never reached its flush: nothing it
        // recorded is lost, and its debug lines are written as for a failure.
        self.finish();
    }
}

impl Settings {
    /// Hand the process-level metrics recorded so far to the exporters.
    pub(crate) fn flush_process_metrics(self: &Arc<Self>) {
        if !self.metrics_enabled || !self.pipeline.wants(RecordKind::Metrics) {
            return;
        }
        let set = std::mem::take(
            &mut *self
                .process_metrics
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        if !set.entries.is_empty() || !set.rejected.is_empty() || !set.groups.is_empty() {
            super::flush::metrics(self, vec![(None, set)], None, None);
        }
    }
}
