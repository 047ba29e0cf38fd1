import GRDB

/// The schema as an append-only list of named migrations. Never edit a shipped
/// migration: add a new one. A database made by an older Ecology upgrades in place.
public enum WorldMigrations {
    public static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1_ledger_and_artifacts", migrate: v1)
        m.registerMigration("v2_markets", migrate: v2)
        m.registerMigration("v3_supervision", migrate: v3)
        m.registerMigration("v4_storage_charged_to", migrate: v4)
        m.registerMigration("v5_threat_accounting", migrate: v5)
        return m
    }

    /// Artifacts (one namespace), principals with their balances, the event log, metadata.
    static func v1(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE artifacts (
                id TEXT PRIMARY KEY NOT NULL,
                kind TEXT NOT NULL,
                content TEXT NOT NULL DEFAULT '',
                code TEXT,
                interface TEXT,
                access_contract_id TEXT NOT NULL,
                has_standing INTEGER NOT NULL,
                can_execute INTEGER NOT NULL,
                created_by TEXT NOT NULL,
                owner_id TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                deleted_at INTEGER,
                size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
                version INTEGER NOT NULL,
                price INTEGER NOT NULL DEFAULT 0 CHECK (price >= 0),
                metadata TEXT NOT NULL DEFAULT '{}'
            );
            CREATE INDEX artifacts_owner ON artifacts(owner_id);
            CREATE INDEX artifacts_deleted ON artifacts(deleted_at);

            CREATE VIRTUAL TABLE artifacts_fts USING fts5(
                id, content, code, interface, content='artifacts', content_rowid='rowid',
                tokenize='unicode61 tokenchars ''_-.''');
            CREATE TRIGGER artifacts_fts_insert AFTER INSERT ON artifacts BEGIN
                INSERT INTO artifacts_fts(rowid, id, content, code, interface)
                VALUES (new.rowid, new.id, new.content, coalesce(new.code, ''), coalesce(new.interface, ''));
            END;
            CREATE TRIGGER artifacts_fts_delete AFTER DELETE ON artifacts BEGIN
                INSERT INTO artifacts_fts(artifacts_fts, rowid, id, content, code, interface)
                VALUES ('delete', old.rowid, old.id, old.content, coalesce(old.code, ''), coalesce(old.interface, ''));
            END;
            CREATE TRIGGER artifacts_fts_update AFTER UPDATE OF content, code, interface ON artifacts BEGIN
                INSERT INTO artifacts_fts(artifacts_fts, rowid, id, content, code, interface)
                VALUES ('delete', old.rowid, old.id, old.content, coalesce(old.code, ''), coalesce(old.interface, ''));
                INSERT INTO artifacts_fts(rowid, id, content, code, interface)
                VALUES (new.rowid, new.id, new.content, coalesce(new.code, ''), coalesce(new.interface, ''));
            END;

            CREATE TABLE principals (
                id TEXT PRIMARY KEY NOT NULL REFERENCES artifacts(id),
                scrip INTEGER NOT NULL CHECK (scrip >= 0),
                llm_budget INTEGER NOT NULL CHECK (llm_budget >= 0),
                disk_quota INTEGER NOT NULL CHECK (disk_quota >= 0),
                disk_used INTEGER NOT NULL CHECK (disk_used >= 0),
                compute_rate INTEGER NOT NULL,
                compute_capacity INTEGER NOT NULL,
                compute_scaled INTEGER NOT NULL,
                compute_updated_at INTEGER NOT NULL,
                llm_rate_rate INTEGER NOT NULL,
                llm_rate_capacity INTEGER NOT NULL,
                llm_rate_scaled INTEGER NOT NULL,
                llm_rate_updated_at INTEGER NOT NULL,
                frozen INTEGER NOT NULL DEFAULT 0
            );

            CREATE TABLE events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                time INTEGER NOT NULL,
                type TEXT NOT NULL,
                principal TEXT,
                data TEXT NOT NULL DEFAULT '{}'
            );
            CREATE INDEX events_type ON events(type, seq);
            CREATE INDEX events_principal ON events(principal, seq);

            CREATE TABLE world_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
            """)
    }

    /// The mint's bids and rounds, escrow listings, and debts.
    static func v2(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE mint_bids (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                bidder TEXT NOT NULL,
                artifact_id TEXT NOT NULL,
                amount INTEGER NOT NULL CHECK (amount > 0),
                created_at INTEGER NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('active','won','lost','withdrawn')),
                round INTEGER,
                paid INTEGER,
                score INTEGER,
                minted INTEGER
            );
            CREATE INDEX mint_bids_status ON mint_bids(status, amount);
            CREATE TABLE mint_rounds (
                round INTEGER PRIMARY KEY AUTOINCREMENT,
                resolved_at INTEGER NOT NULL,
                data TEXT NOT NULL
            );
            CREATE TABLE escrow_listings (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                artifact_id TEXT NOT NULL,
                seller TEXT NOT NULL,
                price INTEGER NOT NULL CHECK (price >= 0),
                status TEXT NOT NULL CHECK (status IN ('active','sold','cancelled')),
                buyer TEXT,
                created_at INTEGER NOT NULL,
                closed_at INTEGER
            );
            CREATE UNIQUE INDEX escrow_one_active ON escrow_listings(artifact_id) WHERE status = 'active';
            CREATE TABLE debts (
                id TEXT PRIMARY KEY NOT NULL REFERENCES artifacts(id),
                debtor TEXT NOT NULL,
                original_creditor TEXT NOT NULL,
                amount INTEGER NOT NULL CHECK (amount > 0),
                repay_amount INTEGER NOT NULL CHECK (repay_amount >= amount),
                repaid INTEGER NOT NULL DEFAULT 0 CHECK (repaid >= 0 AND repaid <= repay_amount),
                due_at INTEGER NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('requested','active','repaid','cancelled')),
                created_at INTEGER NOT NULL
            );
            """)
    }

    /// Supervision state of agents (parked, restarts) and per-agent traces.
    static func v3(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE agent_state (
                id TEXT PRIMARY KEY NOT NULL,
                status TEXT NOT NULL DEFAULT 'stopped',
                restarts INTEGER NOT NULL DEFAULT 0,
                parked INTEGER NOT NULL DEFAULT 0,
                paused INTEGER NOT NULL DEFAULT 0,
                actions INTEGER NOT NULL DEFAULT 0,
                updated_at INTEGER NOT NULL DEFAULT 0
            );
            CREATE TABLE traces (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                agent TEXT NOT NULL,
                time INTEGER NOT NULL,
                kind TEXT NOT NULL,
                data TEXT NOT NULL
            );
            CREATE INDEX traces_agent ON traces(agent, seq);
            """)
    }

    /// Who pays for an artifact's bytes, kept apart from who owns it (`artifacts.charged_to`).
    /// Before v4 the owner always paid, so moving an artifact into `genesis_escrow` (whose
    /// quota is unlimited) made a seller's storage free while it still controlled it, and a
    /// debt request charged its creditor. The rule (the kernel's `billingPrincipal`): the
    /// debtor of a requested debt, else the seller of an active listing, else the owner;
    /// `genesis` (unmetered) for the world's own artifacts. Disk use is recomputed from
    /// it; a principal it puts over its quota (a seller who used escrow to exceed it) is
    /// recorded in `world_meta` as `disk_over_quota_at_v4:<id>` so that the invariants
    /// report it as a note while its use does not grow past that, not as a violation.
    /// Tombstones also drop the metadata they kept unmetered. The mint's llm_budget today is
    /// recorded as what it was granted (`genesis_mint_llm_grant`; scoring only spends it).
    static func v4(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE artifacts ADD COLUMN charged_to TEXT NOT NULL DEFAULT '';
            UPDATE artifacts SET charged_to = COALESCE(
                (SELECT d.debtor FROM debts d WHERE d.id = artifacts.id AND d.status = 'requested' AND artifacts.kind = 'debt'),
                (SELECT l.seller FROM escrow_listings l WHERE l.artifact_id = artifacts.id AND l.status = 'active'
                    AND artifacts.owner_id = 'genesis_escrow'),
                owner_id);
            CREATE INDEX artifacts_charged_to ON artifacts(charged_to) WHERE deleted_at IS NULL;
            UPDATE artifacts SET metadata = '{}' WHERE deleted_at IS NOT NULL;
            UPDATE principals SET disk_used = COALESCE(
                (SELECT SUM(a.size_bytes) FROM artifacts a WHERE a.charged_to = principals.id AND a.deleted_at IS NULL), 0);
            INSERT OR IGNORE INTO world_meta (key, value)
                SELECT 'genesis_mint_llm_grant', CAST(llm_budget AS TEXT) FROM principals WHERE id = 'genesis_mint';
            INSERT OR REPLACE INTO world_meta (key, value)
                SELECT 'disk_over_quota_at_v4:' || id, CAST(disk_used AS TEXT) FROM principals WHERE disk_used > disk_quota;
            """)
    }

    /// What threat accounting needs to survive a stop: per caller, action and result code,
    /// how many actions the kernel answered (`ActionOutcomeTally`, written in batches), and
    /// each configured agent's starting endowment, the baseline its net gain is measured
    /// against (`Kernel.threats`). Agents created before v5 get their starting scrip from
    /// their creation event; their other resources are read from the config then.
    static func v5(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE action_tallies (
                caller TEXT NOT NULL,
                action TEXT NOT NULL,
                code TEXT NOT NULL DEFAULT '',
                count INTEGER NOT NULL CHECK (count >= 0),
                PRIMARY KEY (caller, action, code)
            ) WITHOUT ROWID;
            CREATE TABLE principal_endowments (
                id TEXT PRIMARY KEY NOT NULL,
                scrip INTEGER NOT NULL,
                compute_initial INTEGER,
                compute_rate INTEGER,
                compute_capacity INTEGER,
                disk_quota INTEGER,
                disk_used INTEGER,
                llm_budget INTEGER,
                created_at INTEGER NOT NULL
            );
            INSERT OR IGNORE INTO principal_endowments (id, scrip, created_at)
                SELECT a.id, COALESCE((SELECT json_extract(e.data, '$.scrip') FROM events e
                                       WHERE e.type = 'artifact_written' AND json_extract(e.data, '$.artifact_id') = a.id
                                         AND json_extract(e.data, '$.kind') = 'agent' ORDER BY e.seq LIMIT 1), 0), a.created_at
                FROM artifacts a WHERE a.kind = 'agent' AND a.created_by = 'genesis';
            """)
    }
}
