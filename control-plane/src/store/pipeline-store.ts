/** Retraining pipeline runs and their steps: status, attempts, timing, log and artifacts. */
import type { PipelineRun, PipelineStep } from '@edgeloop/shared';
import type { SqlDatabase } from './sql.ts';

export type RunStatus = PipelineRun['status'];
export type StepStatus = PipelineStep['status'];

/** What starting a run records: its steps begin pending. */
export interface NewPipelineRun {
  id: string;
  trigger: PipelineRun['trigger'];
  requestedBy: string;
  createdAt: string;
  steps: string[];
}

export interface PipelineStore {
  createRun(run: NewPipelineRun): void;
  getRun(id: string): PipelineRun | null;
  listRuns(limit: number): PipelineRun[];
  /** Runs in one of these states, oldest first. */
  runsIn(statuses: readonly RunStatus[]): PipelineRun[];
  /** Newest run's creation time, for the "N new labels since the last run" trigger. */
  lastRunCreatedAt(): string | null;
  setRun(
    id: string,
    fields: { status: RunStatus; startedAt?: string; finishedAt?: string; error?: string | null },
  ): void;
  setStep(
    runId: string,
    index: number,
    fields: Partial<{
      status: StepStatus;
      attempts: number;
      startedAt: string;
      finishedAt: string;
      error: string | null;
    }>,
  ): void;
  appendStepLog(runId: string, index: number, text: string): void;
  setStepArtifacts(runId: string, index: number, artifacts: Record<string, unknown>): void;
}

/** A step's log keeps its last this many characters; training can print a lot. */
const LOG_MAX_CHARS = 64 * 1024;

interface RunRow {
  id: string;
  trigger: PipelineRun['trigger'];
  status: RunStatus;
  requested_by: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
}

interface StepRow {
  idx: number;
  name: string;
  status: StepStatus;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  log: string;
  artifacts: string;
  error: string | null;
}

const COLUMN: Record<string, string> = {
  status: 'status',
  attempts: 'attempts',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  error: 'error',
};

export class SqlitePipelineStore implements PipelineStore {
  constructor(private readonly db: SqlDatabase) {}

  createRun(run: NewPipelineRun) {
    this.db.transaction(() => {
      this.db
        .prepare(
          "INSERT INTO pipeline_runs (id, trigger, status, requested_by, created_at) VALUES (?, ?, 'queued', ?, ?)",
        )
        .run(run.id, run.trigger, run.requestedBy, run.createdAt);
      const step = this.db.prepare(
        "INSERT INTO pipeline_steps (run_id, idx, name, status) VALUES (?, ?, ?, 'pending')",
      );
      for (const [i, name] of run.steps.entries()) step.run(run.id, i, name);
    })();
  }

  private withSteps(row: RunRow): PipelineRun {
    const steps = this.db
      .prepare('SELECT * FROM pipeline_steps WHERE run_id = ? ORDER BY idx')
      .all(row.id) as StepRow[];
    return {
      id: row.id,
      trigger: row.trigger,
      status: row.status,
      requestedBy: row.requested_by,
      createdAt: row.created_at,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      error: row.error,
      steps: steps.map((s) => ({
        name: s.name,
        status: s.status,
        attempts: s.attempts,
        startedAt: s.started_at,
        finishedAt: s.finished_at,
        durationMs:
          s.started_at && s.finished_at ? Date.parse(s.finished_at) - Date.parse(s.started_at) : null,
        log: s.log,
        artifacts: JSON.parse(s.artifacts) as Record<string, unknown>,
        error: s.error,
      })),
    };
  }

  getRun(id: string): PipelineRun | null {
    const row = this.db.prepare('SELECT * FROM pipeline_runs WHERE id = ?').get(id) as RunRow | undefined;
    return row ? this.withSteps(row) : null;
  }

  listRuns(limit: number): PipelineRun[] {
    const rows = this.db
      .prepare('SELECT * FROM pipeline_runs ORDER BY created_at DESC, id DESC LIMIT ?')
      .all(limit) as RunRow[];
    return rows.map((r) => this.withSteps(r));
  }

  runsIn(statuses: readonly RunStatus[]): PipelineRun[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM pipeline_runs WHERE status IN (${statuses.map(() => '?').join(',')}) ORDER BY created_at, id`,
      )
      .all(...statuses) as RunRow[];
    return rows.map((r) => this.withSteps(r));
  }

  lastRunCreatedAt(): string | null {
    return (this.db.prepare('SELECT MAX(created_at) AS at FROM pipeline_runs').get() as { at: string | null })
      .at;
  }

  setRun(
    id: string,
    fields: { status: RunStatus; startedAt?: string; finishedAt?: string; error?: string | null },
  ) {
    this.db
      .prepare(
        `UPDATE pipeline_runs SET status = ?, started_at = COALESCE(?, started_at),
           finished_at = COALESCE(?, finished_at), error = COALESCE(?, error) WHERE id = ?`,
      )
      .run(fields.status, fields.startedAt ?? null, fields.finishedAt ?? null, fields.error ?? null, id);
  }

  setStep(runId: string, index: number, fields: Record<string, unknown>) {
    const keys = Object.keys(fields).filter((k) => k in COLUMN);
    if (keys.length === 0) return;
    this.db
      .prepare(
        `UPDATE pipeline_steps SET ${keys.map((k) => `${COLUMN[k]} = ?`).join(', ')} WHERE run_id = ? AND idx = ?`,
      )
      .run(...keys.map((k) => fields[k] ?? null), runId, index);
  }

  appendStepLog(runId: string, index: number, text: string) {
    this.db
      .prepare(
        `UPDATE pipeline_steps SET log = substr(log || ?, -${LOG_MAX_CHARS}) WHERE run_id = ? AND idx = ?`,
      )
      .run(text, runId, index);
  }

  setStepArtifacts(runId: string, index: number, artifacts: Record<string, unknown>) {
    this.db
      .prepare('UPDATE pipeline_steps SET artifacts = ? WHERE run_id = ? AND idx = ?')
      .run(JSON.stringify(artifacts), runId, index);
  }
}
