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
  createRun(run: NewPipelineRun): Promise<void>;
  getRun(id: string): Promise<PipelineRun | null>;
  listRuns(limit: number): Promise<PipelineRun[]>;
  /** Runs in one of these states, oldest first. */
  runsIn(statuses: readonly RunStatus[]): Promise<PipelineRun[]>;
  /** Newest run's creation time, for the "N new labels since the last run" trigger. */
  lastRunCreatedAt(): Promise<string | null>;
  setRun(
    id: string,
    fields: { status: RunStatus; startedAt?: string; finishedAt?: string; error?: string | null },
  ): Promise<void>;
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
  ): Promise<void>;
  appendStepLog(runId: string, index: number, text: string): Promise<void>;
  setStepArtifacts(runId: string, index: number, artifacts: Record<string, unknown>): Promise<void>;
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

export class SqlPipelineStore implements PipelineStore {
  constructor(private readonly db: SqlDatabase) {}

  async createRun(run: NewPipelineRun) {
    await this.db.transaction(async (tx) => {
      await tx
        .prepare(
          "INSERT INTO pipeline_runs (id, trigger, status, requested_by, created_at) VALUES (?, ?, 'queued', ?, ?)",
        )
        .run(run.id, run.trigger, run.requestedBy, run.createdAt);
      const step = tx.prepare(
        "INSERT INTO pipeline_steps (run_id, idx, name, status) VALUES (?, ?, ?, 'pending')",
      );
      for (const [i, name] of run.steps.entries()) await step.run(run.id, i, name);
    });
  }

  private async withSteps(row: RunRow): Promise<PipelineRun> {
    const steps = (await this.db
      .prepare('SELECT * FROM pipeline_steps WHERE run_id = ? ORDER BY idx')
      .all(row.id)) as StepRow[];
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

  async getRun(id: string): Promise<PipelineRun | null> {
    const row = (await this.db.prepare('SELECT * FROM pipeline_runs WHERE id = ?').get(id)) as
      | RunRow
      | undefined;
    return row ? this.withSteps(row) : null;
  }

  async listRuns(limit: number): Promise<PipelineRun[]> {
    const rows = (await this.db
      .prepare('SELECT * FROM pipeline_runs ORDER BY created_at DESC, id DESC LIMIT ?')
      .all(limit)) as RunRow[];
    return Promise.all(rows.map((r) => this.withSteps(r)));
  }

  async runsIn(statuses: readonly RunStatus[]): Promise<PipelineRun[]> {
    if (statuses.length === 0) return [];
    const rows = (await this.db
      .prepare(
        `SELECT * FROM pipeline_runs WHERE status IN (${statuses.map(() => '?').join(',')}) ORDER BY created_at, id`,
      )
      .all(...statuses)) as RunRow[];
    return Promise.all(rows.map((r) => this.withSteps(r)));
  }

  async lastRunCreatedAt(): Promise<string | null> {
    return (
      (await this.db.prepare('SELECT MAX(created_at) AS at FROM pipeline_runs').get()) as {
        at: string | null;
      }
    ).at;
  }

  async setRun(
    id: string,
    fields: { status: RunStatus; startedAt?: string; finishedAt?: string; error?: string | null },
  ) {
    await this.db
      .prepare(
        `UPDATE pipeline_runs SET status = ?, started_at = COALESCE(?, started_at),
           finished_at = COALESCE(?, finished_at), error = COALESCE(?, error) WHERE id = ?`,
      )
      .run(fields.status, fields.startedAt ?? null, fields.finishedAt ?? null, fields.error ?? null, id);
  }

  async setStep(runId: string, index: number, fields: Record<string, unknown>) {
    const keys = Object.keys(fields).filter((k) => k in COLUMN);
    if (keys.length === 0) return;
    await this.db
      .prepare(
        `UPDATE pipeline_steps SET ${keys.map((k) => `${COLUMN[k]} = ?`).join(', ')} WHERE run_id = ? AND idx = ?`,
      )
      .run(...keys.map((k) => fields[k] ?? null), runId, index);
  }

  async appendStepLog(runId: string, index: number, text: string) {
    // The last LOG_MAX_CHARS characters: SQLite's substr takes a negative start, Postgres has right().
    const tail =
      this.db.dialect === 'postgres'
        ? `right(log || ?, ${LOG_MAX_CHARS})`
        : `substr(log || ?, -${LOG_MAX_CHARS})`;
    await this.db
      .prepare(`UPDATE pipeline_steps SET log = ${tail} WHERE run_id = ? AND idx = ?`)
      .run(text, runId, index);
  }

  async setStepArtifacts(runId: string, index: number, artifacts: Record<string, unknown>) {
    await this.db
      .prepare('UPDATE pipeline_steps SET artifacts = ? WHERE run_id = ? AND idx = ?')
      .run(JSON.stringify(artifacts), runId, index);
  }
}
