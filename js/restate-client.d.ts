// mcp-loop/restate/client: runs of the Restate workflow, through Restate's ingress (Node 20 or later; no Restate SDK).
import type { AgentEvent, Decisions, PendingCall, ResponseInputItem, RunResult, RunSnapshot } from './index.js';

/** What a run's `status` handler says. */
export interface DurableRunStatus {
  /** `unknown` until the run has started (or for a run id never used). */
  status: 'unknown' | 'running' | 'awaiting_approval' | 'done' | 'failed' | 'cancelled';
  /** Model turns so far. */
  turn?: number;
  /** Events recorded so far. */
  events?: number;
  /** The calls waiting for a person, while `awaiting_approval`. */
  pending?: PendingCall[];
  /** Why a `failed` run failed (`code` as `McpLoopError`'s). */
  error?: { code: string; message: string; status?: number };
}

export interface RestateClientOptions {
  /** Restate's ingress, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** The workflow's name. Default `mcpLoop`. */
  name?: string;
  /** Headers for every request (say, the ingress's authentication). */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/** Runs of `restateWorkflow`, through Restate's ingress (plain HTTP with `fetch`). */
export interface RestateClient {
  /** Starts a run; resolves to its id (`runId`, default a random UUID). Starting the same id again is a no-op. */
  start(input: string | ResponseInputItem[], options?: { runId?: string; traceId?: string; history?: ResponseInputItem[] }): Promise<string>;
  /** Waits for the run to end: its result (`completed`, `max_turns`, `incomplete` or `cancelled`). A run that failed
   * rejects with `McpLoopError` carrying its code. */
  result(runId: string): Promise<RunResult>;
  status(runId: string): Promise<DurableRunStatus>;
  /** The run's latest snapshot (taken at each model turn and pause); `agent.resume(snapshot)` continues it in
   * process. */
  snapshot(runId: string): Promise<RunSnapshot | null>;
  /** The run's events from position `after` (default 0; an event's position is its index); pass `next` as the
   * next `after`. */
  events(runId: string, options?: { after?: number }): Promise<{ events: AgentEvent[]; next: number; status: DurableRunStatus['status'] }>;
  /** The run's events from position `after` (default 0) as they are recorded, polled every `intervalMs` (default
   * 250), until it is over or waits for a person (follow again after `decide`, from where it stopped). */
  follow(runId: string, options?: { after?: number; intervalMs?: number; signal?: AbortSignal }): AsyncIterableIterator<AgentEvent>;
  /** The calls waiting for a person's decision (empty when none). */
  pending(runId: string): Promise<PendingCall[]>;
  /** Decides every call of the current pause (a decision for a call that does not wait is refused). */
  decide(runId: string, decisions: Decisions): Promise<{ decided: number }>;
  /** Cancels the run: it ends `cancelled` with the results it had. False when it was cancelled already. */
  cancel(runId: string, reason?: string): Promise<boolean>;
}

export declare function restateClient(options: RestateClientOptions): RestateClient;
