//! The tool catalog the runs share: every server listed (again when a server says its tools changed or the
//! listing's time to live ran out), filtered, converted, and watched for definition changes.

use super::runs::{Run, RunState, Start};
use super::{Driver, Output, RunId};
use crate::base::error::Error;
use crate::base::io::OpId;
use crate::event::Event;
use crate::schema::control::{ToolChange, ToolChanges};
use crate::schema::{Catalog, ServerTools};
use crate::tool_loop::{LoopConfig, ToolLoop};
use crate::wire::mcp::Tool;
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub(super) enum ListingSlot {
    Waiting(OpId),
    Listed(Vec<Tool>, Option<u64>),
}

impl Driver {
    /// The tool catalog, once every server has been listed.
    pub fn catalog(&self) -> Option<&Catalog> {
        self.catalog.as_deref()
    }

    pub(super) fn catalog_outdated(&self) -> bool {
        self.stale || self.expires_ms.is_some_and(|at| self.now_ms > at)
    }

    /// Lists every server's tools, unless a listing is already under way.
    pub(super) fn list_all(&mut self) {
        if self.listing.is_some() {
            return;
        }
        self.stale = false;
        let mut slots = Vec::with_capacity(self.servers.len());
        for server in 0..self.servers.len() {
            let op = self.own_op();
            self.servers[server].list_tools(op, false, self.now_ms);
            slots.push(ListingSlot::Waiting(op));
        }
        self.listing = Some(slots);
        self.finish_listing_if_complete();
    }

    pub(super) fn listing_slot(&mut self, server: usize, op: OpId) -> Option<&mut ListingSlot> {
        let slot = self.listing.as_mut()?.get_mut(server)?;
        matches!(slot, ListingSlot::Waiting(o) if *o == op).then_some(slot)
    }

    pub(super) fn finish_listing_if_complete(&mut self) {
        let Some(slots) = &self.listing else { return };
        if slots.iter().any(|s| matches!(s, ListingSlot::Waiting(_))) {
            return;
        }
        let Some(slots) = self.listing.take() else { return };
        let mut ttl: Option<u64> = None;
        let servers: Vec<ServerTools> = slots
            .into_iter()
            .zip(&self.config.servers)
            .map(|(slot, config)| {
                let tools = match slot {
                    ListingSlot::Listed(tools, server_ttl) => {
                        ttl = match (ttl, server_ttl) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                        tools.into_iter().filter(|t| config.tools.allows(&t.name)).collect()
                    }
                    ListingSlot::Waiting(_) => Vec::new(),
                };
                ServerTools { server: config.name().to_owned(), label: config.label.clone(), tools }
            })
            .collect();
        let mut catalog = Catalog::build(servers, &self.config.convert, self.catalog.as_deref());
        let policy = self.config.tool_changes;
        for change in self.baseline.review(&mut catalog, policy) {
            for event in change_events(change, policy) {
                self.out.push_back(Output::Event { run: None, event });
            }
        }
        self.expires_ms = ttl.map(|ttl| self.now_ms.saturating_add(ttl));
        let listed = Event::ToolsListed {
            count: catalog.tools().len(),
            strict: catalog.tools().iter().filter(|t| t.function.strict).count(),
            notes: catalog.notes.clone(),
        };
        self.out.push_back(Output::Event { run: None, event: listed });
        self.set_catalog(Arc::new(catalog));
    }

    /// A fresh catalog: waiting runs start, running runs see it from their next turn on.
    pub(super) fn set_catalog(&mut self, catalog: Arc<Catalog>) {
        for (_, run) in self.runs.iter_mut() {
            if let RunState::Looping(tool_loop) = &mut run.state {
                tool_loop.set_catalog(catalog.clone());
            }
        }
        self.catalog = Some(catalog);
        self.start_waiting_runs();
        self.release_parked();
    }

    pub(super) fn listing_failed(&mut self, error: Error) {
        self.listing = None;
        if self.catalog.is_some() {
            // Keep using the tools we have; say so.
            let message = format!("could not list the tools again: {error}");
            self.out.push_back(Output::Event { run: None, event: Event::Warning { server: None, message } });
            self.release_parked();
        }
        let waiting: Vec<RunId> = self
            .runs
            .iter()
            .filter(|(_, r)| matches!(r.state, RunState::AwaitingCatalog(_)))
            .map(|(id, _)| *id)
            .collect();
        for run in waiting {
            self.end_run(run);
            self.out.push_back(Output::Done { run, result: Err(error.clone()) });
        }
    }

    /// Sends the model requests held back for the catalog, as their loops make them now (with the new tools).
    pub(super) fn release_parked(&mut self) {
        for run in std::mem::take(&mut self.parked) {
            let Some(Run { state: RunState::Looping(tool_loop), .. }) = self.runs.get(&run) else { continue };
            if let Some((id, request)) = tool_loop.model_request() {
                self.send_turn(run, id, &request);
            }
        }
    }

    pub(super) fn start_waiting_runs(&mut self) {
        let Some(catalog) = &self.catalog else { return };
        let config = self.config.loop_config();
        let mut failed = Vec::new();
        let mut resumed = Vec::new();
        for (id, run) in self.runs.iter_mut() {
            let RunState::AwaitingCatalog(start) = &mut run.state else { continue };
            let config = LoopConfig { stream: run.options.stream, ..config.clone() };
            let now = self.now_ms;
            let started = match std::mem::replace(start, Start::Snapshot(Value::Null, Vec::new())) {
                Start::Input { input, previous, trace_id } => {
                    ToolLoop::continuing(config, catalog.clone(), previous, input, &trace_id, now)
                }
                Start::Snapshot(snapshot, decisions) => {
                    resumed.push(*id);
                    ToolLoop::restore(config, catalog.clone(), &snapshot, decisions, now)
                }
            };
            match started {
                Ok(tool_loop) => run.state = RunState::Looping(Box::new(tool_loop)),
                Err(e) => failed.push((*id, e)),
            }
        }
        // A resumed run may already have calls out (approved, or run again): its state now comes first.
        for run in resumed {
            self.step_snapshot(run);
        }
        for (run, error) in failed {
            self.end_run(run);
            self.out.push_back(Output::Done { run, result: Err(error) });
        }
    }
}

/// The events that tell the application about a definition change under `policy`.
fn change_events(change: ToolChange, policy: ToolChanges) -> Vec<Event> {
    let ToolChange { server, tool, blocked } = change;
    let mut events = Vec::new();
    if !blocked && policy == ToolChanges::Warn {
        let message = format!("the server changed the definition of its tool '{tool}'");
        events.push(Event::Warning { server: Some(server.clone()), message });
    }
    events.push(Event::ToolChanged { server, tool, blocked });
    events
}
