/**
 * Schema migrations, applied in order. Each runs once, inside a transaction, and bumps
 * schema_version; never edit a migration that has shipped — append a new one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE enrollment_tokens (
        token_hash TEXT PRIMARY KEY,
        grp TEXT NOT NULL,
        uses_left INTEGER NOT NULL,
        expires_at TEXT NOT NULL
      );

      CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        name TEXT,
        grp TEXT NOT NULL,
        hardware TEXT,
        secret_hash TEXT NOT NULL,
        enrolled_at TEXT NOT NULL,
        desired_version INTEGER,
        desired_updated_at TEXT,
        reported_version INTEGER,
        status TEXT,
        detail TEXT,
        agent_version TEXT,
        online INTEGER NOT NULL DEFAULT 0,
        last_seen_at TEXT,
        frames_processed INTEGER NOT NULL DEFAULT 0,
        samples_queued INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX devices_grp ON devices (grp);

      CREATE TABLE model_versions (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        manifest TEXT NOT NULL,
        metrics TEXT,
        created_at TEXT NOT NULL,
        published_at TEXT NOT NULL
      );

      CREATE TABLE samples (
        id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices (id),
        idempotency_key TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        object_key TEXT NOT NULL,
        content_type TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        model_version INTEGER,
        frame_id TEXT NOT NULL,
        captured_at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        reason TEXT NOT NULL,
        top_k TEXT NOT NULL,
        confidence REAL NOT NULL,
        label TEXT,
        labelled_by TEXT,
        labelled_at TEXT,
        used_in_model_version INTEGER,
        UNIQUE (device_id, idempotency_key)
      );
      CREATE INDEX samples_received ON samples (received_at, id);
      CREATE INDEX samples_label ON samples (label);

      CREATE TABLE device_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id TEXT NOT NULL REFERENCES devices (id),
        type TEXT NOT NULL,
        message TEXT NOT NULL,
        model_version INTEGER,
        at TEXT NOT NULL,
        received_at TEXT NOT NULL
      );
      CREATE INDEX device_events_device ON device_events (device_id, id);

      -- Per-device counters and the last prediction; individual predictions are not kept.
      CREATE TABLE prediction_stats (
        device_id TEXT PRIMARY KEY REFERENCES devices (id),
        total INTEGER NOT NULL,
        last_prediction TEXT NOT NULL,
        last_received_at TEXT NOT NULL
      );

      -- A bounded window of recent predictions per device (see RECENT_PREDICTIONS_PER_DEVICE).
      CREATE TABLE recent_predictions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id TEXT NOT NULL REFERENCES devices (id),
        model_version INTEGER NOT NULL,
        frame_id TEXT NOT NULL,
        top_label TEXT NOT NULL,
        confidence REAL NOT NULL,
        latency_ms REAL NOT NULL,
        captured_at TEXT NOT NULL,
        received_at TEXT NOT NULL
      );
      CREATE INDEX recent_predictions_device ON recent_predictions (device_id, id);
    `,
  },
  {
    version: 2,
    name: 'learning-loop',
    sql: `
      -- Content-hash dedup of samples looks rows up by image hash.
      CREATE INDEX samples_sha256 ON samples (sha256);
      -- confirmed | corrected | none (no class fits); NULL while unlabelled. Skips are not labels.
      ALTER TABLE samples ADD COLUMN label_status TEXT;
      ALTER TABLE samples ADD COLUMN skipped_at TEXT;
      UPDATE samples SET label_status = 'corrected' WHERE label IS NOT NULL;

      -- Every labelling action, so each label keeps who gave it and when, and what it replaced.
      CREATE TABLE label_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sample_id TEXT NOT NULL REFERENCES samples (id),
        action TEXT NOT NULL,
        label TEXT,
        actor TEXT NOT NULL,
        at TEXT NOT NULL
      );
      CREATE INDEX label_events_sample ON label_events (sample_id, id);

      CREATE TABLE classes (
        name TEXT PRIMARY KEY,
        added_by TEXT NOT NULL,
        added_at TEXT NOT NULL
      );

      -- Images imported into named datasets; 'eval' is the project's fixed evaluation set.
      CREATE TABLE dataset_images (
        dataset TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        label TEXT NOT NULL,
        object_key TEXT NOT NULL,
        content_type TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        source TEXT NOT NULL,
        added_by TEXT NOT NULL,
        added_at TEXT NOT NULL,
        PRIMARY KEY (dataset, sha256)
      );
      CREATE INDEX dataset_images_added ON dataset_images (dataset, added_at);

      -- Immutable snapshots; id = sha256 over the sorted entries (content addressed).
      CREATE TABLE dataset_versions (
        id TEXT PRIMARY KEY,
        base TEXT NOT NULL,
        cutoff TEXT NOT NULL,
        counts TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE dataset_version_entries (
        version_id TEXT NOT NULL REFERENCES dataset_versions (id),
        split TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        label TEXT NOT NULL,
        object_key TEXT NOT NULL,
        sample_id TEXT,
        PRIMARY KEY (version_id, split, sha256)
      );

      -- Registry: where a model version came from, names pointing at versions, promotion decisions.
      CREATE TABLE model_lineage (
        version INTEGER PRIMARY KEY REFERENCES model_versions (version),
        parameters TEXT NOT NULL,
        dataset_version TEXT,
        parent_version INTEGER,
        created_by TEXT NOT NULL
      );
      CREATE TABLE model_aliases (
        alias TEXT PRIMARY KEY,
        version INTEGER NOT NULL REFERENCES model_versions (version),
        set_by TEXT NOT NULL,
        set_at TEXT NOT NULL
      );
      CREATE TABLE promotions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        candidate INTEGER NOT NULL,
        production INTEGER,
        promoted INTEGER NOT NULL,
        reason TEXT NOT NULL,
        details TEXT NOT NULL,
        actor TEXT NOT NULL,
        at TEXT NOT NULL
      );

      -- Retraining pipeline runs and their steps.
      CREATE TABLE pipeline_runs (
        id TEXT PRIMARY KEY,
        trigger TEXT NOT NULL,
        status TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        error TEXT,
        result TEXT
      );
      CREATE TABLE pipeline_steps (
        run_id TEXT NOT NULL REFERENCES pipeline_runs (id),
        idx INTEGER NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        started_at TEXT,
        finished_at TEXT,
        log TEXT NOT NULL DEFAULT '',
        artifacts TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        PRIMARY KEY (run_id, idx)
      );
    `,
  },
  {
    version: 3,
    name: 'rollouts',
    sql: `
      -- A desired state may point at a manifest other than the version's own (a rollback manifest).
      ALTER TABLE devices ADD COLUMN desired_manifest_path TEXT;

      CREATE TABLE rollouts (
        id TEXT PRIMARY KEY,
        model_version INTEGER NOT NULL REFERENCES model_versions (version),
        target TEXT NOT NULL,
        strategy TEXT NOT NULL,
        state TEXT NOT NULL,
        current_wave INTEGER NOT NULL,
        waves TEXT NOT NULL,
        reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX rollouts_state ON rollouts (state);

      CREATE TABLE rollout_devices (
        rollout_id TEXT NOT NULL REFERENCES rollouts (id),
        device_id TEXT NOT NULL REFERENCES devices (id),
        wave INTEGER NOT NULL,
        state TEXT NOT NULL,
        previous_version INTEGER,
        reason TEXT,
        notified_at TEXT,
        updated_at TEXT NOT NULL,
        baseline TEXT,
        latest TEXT,
        PRIMARY KEY (rollout_id, device_id)
      );
      CREATE INDEX rollout_devices_device ON rollout_devices (device_id, state);

      -- Every per-device state change, with time and reason.
      CREATE TABLE rollout_transitions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        rollout_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        state TEXT NOT NULL,
        at TEXT NOT NULL,
        reason TEXT
      );
      CREATE INDEX rollout_transitions_rollout ON rollout_transitions (rollout_id, device_id, id);

      -- Manifests re-signed with rollback: true, served to devices ordered back to a version.
      CREATE TABLE rollback_manifests (
        version INTEGER PRIMARY KEY REFERENCES model_versions (version),
        manifest TEXT NOT NULL,
        signed_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'device-health',
    sql: `
      -- The agent's last heartbeat figures (ReportedState.health: fps, latency, queue, restarts).
      ALTER TABLE devices ADD COLUMN health TEXT;
    `,
  },
  {
    version: 5,
    name: 'device-tags',
    sql: `
      -- A device's tags as a sorted JSON array of strings; rollout targets select on them.
      ALTER TABLE devices ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
      -- When an operator last changed group or tags (so open dashboards notice).
      ALTER TABLE devices ADD COLUMN edited_at TEXT;
    `,
  },
  {
    version: 6,
    name: 'fleet-targets-and-pins',
    sql: `
      -- The version a group, tag set or the whole fleet should run; key: group:G, tags:a,b or all.
      CREATE TABLE fleet_targets (
        selector_key TEXT PRIMARY KEY,
        selector TEXT NOT NULL,
        model_version INTEGER NOT NULL REFERENCES model_versions (version),
        previous_version INTEGER,
        rollout_id TEXT,
        set_at TEXT NOT NULL
      );
      -- An operator's pin: the device stays on this version whatever rollouts and targets say.
      ALTER TABLE devices ADD COLUMN pinned_version INTEGER REFERENCES model_versions (version);
      ALTER TABLE devices ADD COLUMN pinned_reason TEXT;
      ALTER TABLE devices ADD COLUMN pinned_by TEXT;
      ALTER TABLE devices ADD COLUMN pinned_at TEXT;
      -- A token that may re-enroll an existing device of its group (after a wipe).
      ALTER TABLE enrollment_tokens ADD COLUMN reenroll INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 7,
    name: 'alerts',
    sql: `
      -- Alerts the rules raised. At most one firing alert per key (rule + subject): that is the
      -- deduplication; one-shot notifications keep their key forever so they are sent once.
      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        status TEXT NOT NULL,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        summary TEXT NOT NULL,
        details TEXT NOT NULL,
        one_shot INTEGER NOT NULL,
        fired_at TEXT NOT NULL,
        resolved_at TEXT
      );
      CREATE UNIQUE INDEX alerts_firing_key ON alerts (key) WHERE status = 'firing' AND one_shot = 0;
      CREATE INDEX alerts_key ON alerts (key);
      CREATE INDEX alerts_fired ON alerts (fired_at);

      -- A device's mean top-1 confidence over its first predictions with a model version (drift).
      CREATE TABLE confidence_baselines (
        device_id TEXT NOT NULL,
        model_version INTEGER NOT NULL,
        mean REAL NOT NULL,
        predictions INTEGER NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (device_id, model_version)
      );
    `,
  },
  {
    version: 8,
    name: 'remote-config',
    sql: `
      -- Remote agent configuration fragments per group, tag and device (merged in that order).
      CREATE TABLE config_fragments (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        settings TEXT NOT NULL,
        revision TEXT,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (scope, key)
      );
      -- What each device last reported about its remote configuration (ReportedState.config).
      CREATE TABLE device_config_reports (
        device_id TEXT PRIMARY KEY REFERENCES devices (id),
        report TEXT NOT NULL,
        received_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 9,
    name: 'cameras',
    sql: `
      -- Which of a device's cameras took a sample (SampleMetadata.cameraId; NULL from agents that
      -- do not say, i.e. their only camera).
      ALTER TABLE samples ADD COLUMN camera_id TEXT;
      -- The last prediction of each camera of a device ('default' when the prediction names none).
      CREATE TABLE camera_predictions (
        device_id TEXT NOT NULL,
        camera_id TEXT NOT NULL,
        prediction TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (device_id, camera_id)
      );
    `,
  },
  {
    version: 10,
    name: 'webhook-deliveries',
    sql: `
      -- Alert notifications not yet delivered to a webhook (waiting or between retries), so a
      -- restart resends them; seq keeps the queue's order.
      CREATE TABLE webhook_deliveries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        webhook TEXT NOT NULL,
        notification_id TEXT NOT NULL,
        notification TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        due_at INTEGER NOT NULL,
        UNIQUE (webhook, notification_id)
      );
    `,
  },
  {
    version: 11,
    name: 'device-event-camera',
    sql: `
      -- Which camera a device event is about (DeviceEvent.cameraId: camera errors, a camera's own
      -- model installed or refused); NULL for events about the whole device.
      ALTER TABLE device_events ADD COLUMN camera_id TEXT;
    `,
  },
  {
    version: 12,
    name: 'device-identity',
    sql: `
      -- The client certificate the control plane issued a device (sha256 of its DER; NULL for
      -- password devices) and its revocation: a revoked device's secret and certificate stop working.
      CREATE TABLE device_identity (
        device_id TEXT PRIMARY KEY REFERENCES devices (id),
        cert_fingerprint TEXT,
        revoked_at TEXT,
        revoked_by TEXT
      );
      -- The sequence number of each device's signed desired state, bumped when its content changes,
      -- so a replayed older message is refused by the device.
      CREATE TABLE desired_sequence (
        device_id TEXT PRIMARY KEY REFERENCES devices (id),
        sequence INTEGER NOT NULL,
        content TEXT NOT NULL,
        issued_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 13,
    name: 'revoked-sessions',
    sql: `
      -- Dashboard sessions ended by sign-out (auth/sessions.ts); rows go once the cookie expires.
      CREATE TABLE revoked_sessions (
        id TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 14,
    name: 'leases',
    sql: `
      -- Work one control-plane replica at a time may do (rollout engine, schedules, pipeline):
      -- the replica holding the row until expires_at (ms since the epoch) does it.
      CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 15,
    name: 'agent-versions',
    sql: `
      -- Published agent bundles (edgeloop bundle agent), one per version and architecture; the
      -- tarball is in the object store under object_key, its signed bundle manifest here.
      CREATE TABLE agent_versions (
        agent_version TEXT NOT NULL,
        arch TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        bytes BIGINT NOT NULL,
        object_key TEXT NOT NULL,
        manifest TEXT NOT NULL,
        signer_key_id TEXT NOT NULL,
        node_bundled INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        published_at TEXT NOT NULL,
        PRIMARY KEY (agent_version, arch)
      );
      -- The agent version a device should run; no row: keep what it runs. rollback = 1 allows a
      -- version below the highest the device ran (an aborted agent rollout).
      CREATE TABLE device_agent_desired (
        device_id TEXT PRIMARY KEY REFERENCES devices (id),
        agent_version TEXT NOT NULL,
        rollback INTEGER NOT NULL,
        updated_at TEXT NOT NULL
      );
      -- Agent rollouts: the model rollouts' strategy, for an agent version.
      CREATE TABLE agent_rollouts (
        id TEXT PRIMARY KEY,
        agent_version TEXT NOT NULL,
        target TEXT NOT NULL,
        strategy TEXT NOT NULL,
        state TEXT NOT NULL,
        current_wave INTEGER NOT NULL,
        waves TEXT NOT NULL,
        reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE agent_rollout_devices (
        rollout_id TEXT NOT NULL REFERENCES agent_rollouts (id),
        device_id TEXT NOT NULL REFERENCES devices (id),
        wave INTEGER NOT NULL,
        state TEXT NOT NULL,
        previous_version TEXT,
        reason TEXT,
        notified_at TEXT,
        updated_at TEXT NOT NULL,
        history TEXT NOT NULL,
        PRIMARY KEY (rollout_id, device_id)
      );
      CREATE INDEX agent_rollout_devices_device ON agent_rollout_devices (device_id, state);
    `,
  },
  {
    version: 16,
    name: 'sample-embedding',
    sql: `
      -- The compact frame embedding a device sent with a sample (JSON array of int8, at most 128;
      -- NULL when its model has no features output): the labelling queue's diversity measure.
      ALTER TABLE samples ADD COLUMN embedding TEXT;
    `,
  },
];
