//! Command-line grammar: `ward <noun> <verb>`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Ward: release governance for regulated software, with a tamper-evident audit log.
#[derive(Debug, Parser)]
#[command(name = "ward", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Data directory (keys, SQLite database).
    #[arg(long, global = true, env = "WARD_DATA_DIR", default_value = ".ward")]
    pub data_dir: PathBuf,
    /// Database URL; default is the SQLite file in the data directory. Use postgres://… for
    /// PostgreSQL.
    #[arg(long, global = true, env = "WARD_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Talk to a Ward server at this URL instead of the local data directory.
    #[arg(long, global = true, env = "WARD_SERVER")]
    pub server: Option<String>,
    /// API token or OIDC JWT for --server (see `ward token create`).
    #[arg(long, global = true, env = "WARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// CA certificate (PEM) of an https:// --server with a private CA; only it is trusted.
    #[arg(long, global = true, env = "WARD_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Local mode: the local user a person action (change open/update/classify, approve,
    /// promote, rollback, config set, token create --user) acts as; they re-authenticate with
    /// their password (WARD_PASSWORD or --password-stdin). Through a server you act as the
    /// token's identity.
    #[arg(long = "as", global = true, env = "WARD_AS")]
    pub as_user: Option<String>,
    /// Read your password from stdin (first line) to re-authenticate; otherwise WARD_PASSWORD.
    #[arg(long, global = true)]
    pub password_stdin: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable text.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a data directory: log signing key (0600) and database.
    Init(InitArgs),
    /// Operate on the tamper-evident event log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Verify an exported log (or, with `bundle`, an evidence bundle) offline, without a
    /// database or server.
    Verify(VerifyArgs),
    /// Evidence bundles for auditors: one file per change, verifiable offline.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Reports for auditors.
    #[command(subcommand)]
    Report(ReportCommand),
    /// The auditor's population of production deployments for a period (CSV and JSON with a
    /// manifest signed by the log's key) and a reproducible sample of it.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Run the end-to-end demonstration in a temporary data directory.
    Demo(DemoArgs),
    /// Run the sample service (examples/sample-service) that `ward demo` deploys; it listens on
    /// 127.0.0.1:$PORT and takes its behaviour from SAMPLE_* variables.
    #[command(hide = true)]
    SampleService,
    /// Run the HTTP API server on the data directory's store.
    Serve(ServeArgs),
    /// Sign in to a Ward server (--server / WARD_SERVER) and keep the session for later
    /// commands against it: a local user's password (prompted, or WARD_PASSWORD /
    /// --password-stdin), a token pasted on stdin (--token-stdin), or a person of an OIDC
    /// provider through its device flow (--oidc NAME).
    Login(LoginArgs),
    /// Sign out of a server: end the stored session on the server and forget it here.
    Logout,
    /// Who you are to a server (identity, roles, when the session ends), or locally.
    Whoami,
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage local users (people who sign in with a password).
    #[command(subcommand)]
    User(UserCommand),
    /// Register and show artifacts (by digest).
    #[command(subcommand)]
    Artifact(ArtifactCommand),
    /// Attach and list attestations (test reports, scans, SBOMs, provenance) of an artifact.
    #[command(subcommand)]
    Attest(AttestCommand),
    /// Manage the public keys trusted to sign evidence (in-toto, DSSE) for a builder.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Open, show and list change requests (classified by risk when opened).
    #[command(subcommand)]
    Change(ChangeCommand),
    /// Sign a change: approve (or --reject) with a meaning, re-authenticating as you sign.
    Approve(ApproveArgs),
    /// Purge a text document or a raw evidence file kept beside the log (PHI that slipped in):
    /// a privacy officer requests it, another privacy officer or an admin runs the same command
    /// to complete it.
    Purge(PurgeArgs),
    /// Evaluate, explain and replay policy gates (exit 4 when a gate blocks).
    #[command(subcommand)]
    Gate(GateCommand),
    /// Test the gate policies (`*_test.rego`, the bundled ones and the team's).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Grant and list waivers of gate rules (scope, justification, compensating control, owner,
    /// expiry).
    #[command(subcommand)]
    Waiver(WaiverCommand),
    /// Break glass on an emergency change: bypass named gate rules for a bounded time; opens a
    /// retrospective review.
    BreakGlass(BreakGlassArgs),
    /// Retrospective reviews opened by break-glass: open, overdue, closed.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Promote a change's artifacts into an environment: chain and ring order, its gate, its
    /// deployment target (once per tenant, ring by ring), and a deployment record.
    Promote {
        /// Change.
        #[arg(long)]
        change: String,
        /// Target environment (declared in [[environments]]).
        #[arg(long)]
        to: String,
        /// Only these tenants (comma-separated).
        #[arg(long, value_delimiter = ',', conflicts_with = "ring")]
        tenants: Vec<String>,
        /// Only this ring's tenants (rings go in the declared order).
        #[arg(long)]
        ring: Option<String>,
    },
    /// Roll an environment (or one tenant) back to its previous known-good release and
    /// configuration (through the same target; the record links the deployment it reverts).
    Rollback {
        /// Environment.
        #[arg(long)]
        env: String,
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Configuration bundles per environment and tenant (secrets as env://, file://, vault://
    /// references only); `ward config check` validates ward.toml and prints the effective
    /// controls.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Environments: record what is running and flag drift.
    #[command(subcommand)]
    Env(EnvCommand),
    /// Release notes and manifests.
    #[command(subcommand)]
    Release(ReleaseCommand),
    /// Progressive delivery on the local runtime (through `ward serve`): canary, blue-green or
    /// tenant rings, with analysis and automated rollback.
    #[command(subcommand)]
    Rollout(RolloutCommand),
    /// Rollback drills: prove a rollback works before it is needed.
    #[command(subcommand)]
    Drill(DrillCommand),
    /// Deployment records of an environment (`--env`), or one of them (`show SEQ`).
    #[command(args_conflicts_with_subcommands = true)]
    Deployments {
        /// Environment.
        #[arg(long, required = true)]
        env: Option<String>,
        /// One deployment.
        #[command(subcommand)]
        cmd: Option<DeploymentsCommand>,
    },
    /// Delivery metrics read off the log: DORA's five, each with its sample size, its DORA band
    /// and (--explain) the log entries it rests on.
    #[command(subcommand)]
    Metrics(MetricsCommand),
    /// Error budgets (`[[slo]]` in ward.toml): each objective's burn rates now, as the gate reads
    /// them; a burning or unreadable budget freezes normal changes of the service.
    #[command(subcommand)]
    Slo(SloCommand),
    /// Disaster-recovery readiness (`[[services]]` in ward.toml): backups within the RPO,
    /// restore tests within the tier's age and the RTO, rollback drills; signed restore tests.
    #[command(subcommand)]
    Dr(DrCommand),
    /// Measure performance (load tests).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Internal helpers used by the test-suite.
    #[command(subcommand, hide = true)]
    Debug(DebugCommand),
}

/// `ward artifact …`.
#[derive(Debug, Subcommand)]
pub enum ArtifactCommand {
    /// Register an artifact by digest; in GitHub Actions or GitLab CI, commit, branch, run id and
    /// URL are filled from the job's variables.
    Register(ArtifactRegisterArgs),
    /// Show an artifact and its attestation summaries.
    Show {
        /// `sha256:<hex>`.
        digest: String,
    },
}

/// `ward artifact register`.
#[derive(Debug, Args)]
#[command(
    disable_version_flag = true,
    group(clap::ArgGroup::new("what").required(true).args(["file", "dir", "digest"]))
)]
pub struct ArtifactRegisterArgs {
    /// A file: its sha256.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// A directory: its `ward-tree-v1` digest.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// A digest given as is (e.g. an OCI image's `sha256:…`).
    #[arg(long)]
    pub digest: Option<String>,
    /// Service name.
    #[arg(long)]
    pub service: String,
    /// Version.
    #[arg(long)]
    pub version: String,
    /// Source commit (default: from the CI job).
    #[arg(long)]
    pub commit: Option<String>,
    /// Branch (default: from the CI job).
    #[arg(long)]
    pub branch: Option<String>,
    /// Build or run id (default: from the CI job).
    #[arg(long)]
    pub build_id: Option<String>,
    /// Build URL (default: from the CI job).
    #[arg(long)]
    pub build_url: Option<String>,
}

/// `ward attest …`.
#[derive(Debug, Subcommand)]
pub enum AttestCommand {
    /// Parse a report, store it, and record its summary against an artifact.
    Add(AttestAddArgs),
    /// List an artifact's (or a change's own) attestations.
    #[command(group(clap::ArgGroup::new("target").required(true).args(["artifact", "change"])))]
    List {
        /// Artifact digest.
        #[arg(long)]
        artifact: Option<String>,
        /// Or a change id.
        #[arg(long)]
        change: Option<String>,
    },
    /// Custom attestation types: your own JSON, checked against a JSON Schema.
    #[command(subcommand, name = "type")]
    Type(AttestTypeCommand),
}

/// `ward attest type …`.
#[derive(Debug, Subcommand)]
pub enum AttestTypeCommand {
    /// Register a type: attach documents of it with `ward attest add --type custom:NAME`.
    Add {
        /// Type name (lower-case letters, digits, '.', '_' or '-').
        name: String,
        /// The JSON Schema file (draft 4 to 2020-12; `$ref`s must stay inside it).
        #[arg(long)]
        schema: PathBuf,
    },
    /// List registered types.
    List,
}

/// `ward change …`.
#[derive(Debug, Subcommand)]
pub enum ChangeCommand {
    /// Open a change request; it is classified by the `[risk]` rules of ward.toml at once. In
    /// GitHub Actions or GitLab CI (or with --range) commits, authors and paths come from git.
    Open(ChangeOpenArgs),
    /// Update a change's commits and paths (from git: --range, or in CI), its paths, artifacts,
    /// ticket or target environments; it is classified again and signatures over the old
    /// content become stale.
    Update {
        /// Change id.
        id: String,
        /// New git range (`A..B`): commits, authors and paths are read again.
        #[arg(long)]
        range: Option<String>,
        /// Replace the touched paths (repeatable; added to those from --range).
        #[arg(long = "path")]
        paths: Vec<String>,
        /// Replace the artifacts shipped (repeatable).
        #[arg(long = "artifact")]
        artifacts: Vec<String>,
        /// Set the ticket (an http(s) URL).
        #[arg(long)]
        ticket: Option<String>,
        /// Replace the target environments (repeatable).
        #[arg(long = "env")]
        environments: Vec<String>,
    },
    /// Show a change: what it ships, its tier and every rule that matched.
    Show {
        /// Change id (`CHG-…`).
        id: String,
    },
    /// List changes, newest first.
    List,
    /// A change's signatures, current and stale, and the manifest a new one would cover.
    Approvals {
        /// Change id.
        id: String,
    },
    /// Override a change's tier (approvers only, never the opener; the reason is recorded).
    Classify {
        /// Change id.
        id: String,
        /// The tier: low, medium or high.
        #[arg(long)]
        tier: String,
        /// Why the rules' tier is wrong.
        #[arg(long)]
        reason: String,
    },
}

/// `ward change open`.
#[derive(Debug, Args)]
pub struct ChangeOpenArgs {
    /// One-line title.
    #[arg(long)]
    pub title: String,
    /// What and why.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Ticket URL.
    #[arg(long)]
    pub ticket: Option<String>,
    /// The incident ticket (URL) this change answers: its deployments count as rework.
    #[arg(long)]
    pub incident: Option<String>,
    /// normal, standard or emergency.
    #[arg(long, default_value = "normal")]
    pub kind: String,
    /// Artifact digest shipped (repeatable; must be registered).
    #[arg(long = "artifact")]
    pub artifacts: Vec<String>,
    /// Configuration version shipped (repeatable).
    #[arg(long = "config-version")]
    pub config_versions: Vec<String>,
    /// Git range (`A..B`) to read commits, authors and touched paths from, in the current
    /// directory's repository. Default in CI: the pushed range or the pull request's.
    #[arg(long)]
    pub range: Option<String>,
    /// Path touched (repeatable; added to those from git).
    #[arg(long = "path")]
    pub paths: Vec<String>,
    /// Attribute (repeatable): phi, clinical_workflow, schema_migration, infrastructure,
    /// internet_facing.
    #[arg(long = "attribute")]
    pub attributes: Vec<String>,
    /// Integration touched (repeatable): ehr, fhir, hl7, billing, …
    #[arg(long = "integration")]
    pub integrations: Vec<String>,
    /// Target environment (repeatable).
    #[arg(long = "env")]
    pub environments: Vec<String>,
}

/// `ward deployments …`.
#[derive(Debug, Subcommand)]
pub enum DeploymentsCommand {
    /// One deployment record: change, digests, per tenant the outcome, exit code, output digest
    /// and rollback plan; `--output-log` prints what the target run printed.
    Show {
        /// Deployment (its log entry, `seq` in `ward deployments --env ENV`).
        seq: u64,
        /// Print the stored output of the target run (recorded as an access on a server).
        #[arg(long)]
        output_log: bool,
        /// The tenant whose run, when the deployment ran for several.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// `ward gate …`.
#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Evaluate the gate for a change entering an environment; records the decision. Exits 0
    /// when allowed, 4 when blocked (printing every missing item and how to satisfy it).
    Check {
        /// Change id.
        #[arg(long)]
        change: String,
        /// Target environment.
        #[arg(long)]
        env: String,
    },
    /// Show a recorded decision: verdict, reasons, policy and input digests.
    Explain {
        /// Decision id (printed by `ward gate check`).
        id: u64,
    },
    /// Re-evaluate a recorded decision from its stored input and policy; exits 3 unless the
    /// verdict and reasons are identical.
    Replay {
        /// Decision id.
        id: u64,
    },
    /// Print the input document a recorded decision was evaluated on (JSON, as stored; its
    /// fields are described in docs/POLICY.md and docs/gate-input.schema.json).
    Input {
        /// Decision id.
        id: u64,
    },
}

/// `ward policy …`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run every `test_*` rule of the `*_test.rego` files (bundled, plus DIR or [gate] policy_dir).
    Test {
        /// Policy directory (default: [gate] policy_dir of ward.toml).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// `ward waiver …`.
#[derive(Debug, Subcommand)]
pub enum WaiverCommand {
    /// Grant a waiver (approvers; never the waiver's owner).
    #[command(group(clap::ArgGroup::new("scope").required(true).args(["change", "artifact"])))]
    Grant {
        /// Change it applies to.
        #[arg(long)]
        change: Option<String>,
        /// Or: artifact whose findings it covers, in every change shipping it.
        #[arg(long)]
        artifact: Option<String>,
        /// Gate rule it excuses (repeatable), or a prefix ending in '.' (e.g. sla.).
        #[arg(long = "rule", required = true)]
        rules: Vec<String>,
        /// Only this finding (vulnerability id).
        #[arg(long)]
        finding: Option<String>,
        /// Why.
        #[arg(long)]
        justification: String,
        /// What reduces the risk meanwhile.
        #[arg(long)]
        compensating_control: String,
        /// Owner (an identity, e.g. user:dana).
        #[arg(long)]
        owner: String,
        /// Lifetime, e.g. 14d, 12h.
        #[arg(long)]
        expires: String,
    },
    /// A change's (or an artifact's) waivers, active and expired.
    List {
        /// Change id or artifact digest.
        #[arg(long)]
        change: String,
    },
}

/// `ward break-glass`.
#[derive(Debug, Args)]
pub struct BreakGlassArgs {
    /// The emergency change.
    #[arg(long)]
    pub change: String,
    /// Gate rule to bypass (repeatable), or a prefix ending in '.'.
    #[arg(long = "rule", required = true)]
    pub rules: Vec<String>,
    /// Why (mandatory).
    #[arg(long)]
    pub justification: String,
    /// How long, e.g. 4h (at most 24h).
    #[arg(long = "for", default_value = "4h")]
    pub duration: String,
}

/// `ward review …`.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Every retrospective review; `--overdue` for the late ones only (exit 5 when any).
    List {
        /// Only overdue reviews.
        #[arg(long)]
        overdue: bool,
    },
}

/// `ward slo …`.
#[derive(Debug, Subcommand)]
pub enum SloCommand {
    /// Each objective judged now: burn rate per alert window from Prometheus, and whether it
    /// freezes deployments (docs/METRICS.md, error budgets).
    Status(SloStatusArgs),
}

/// `ward dr …`.
#[derive(Debug, Subcommand)]
pub enum DrCommand {
    /// Each service's readiness now, as the gate judges it, and what is missing (exit 10 when
    /// any service is not ready).
    Status(DrStatusArgs),
    /// Record a restore test you ran, signed as you: the store, when the restore finished, how
    /// long it took, what you checked.
    RestoreTest(DrRestoreTestArgs),
}

/// `ward dr status`.
#[derive(Debug, Args)]
pub struct DrStatusArgs {
    /// Only this service.
    #[arg(long)]
    pub service: Option<String>,
    /// The environment whose rollback drills count (default: the first of `[dr] environments`).
    #[arg(long)]
    pub env: Option<String>,
}

/// `ward dr restore-test`.
#[derive(Debug, Args)]
pub struct DrRestoreTestArgs {
    /// The store restored, as `[[services]] stores` names it.
    #[arg(long)]
    pub store: String,
    /// When the restore finished (RFC 3339, e.g. 2026-12-02T10:15:00Z).
    #[arg(long)]
    pub finished: String,
    /// How long the restore took (e.g. 25m, 2h, 90s).
    #[arg(long)]
    pub duration: String,
    /// What you checked after the restore.
    #[arg(long)]
    pub checked: String,
}

/// `ward slo status`.
#[derive(Debug, Args)]
pub struct SloStatusArgs {
    /// Only this service.
    #[arg(long)]
    pub service: Option<String>,
    /// Only this environment (declared in [[environments]]).
    #[arg(long)]
    pub env: Option<String>,
}

/// `ward metrics …`.
#[derive(Debug, Subcommand)]
pub enum MetricsCommand {
    /// DORA's five metrics for an environment (and service) over a period: deployment
    /// frequency, change lead time, change fail rate, failed deployment recovery time and
    /// deployment rework rate (definitions and bands: docs/METRICS.md).
    Dora(DoraArgs),
    /// Governance metrics for an environment over a period: approval latency (open → quorum),
    /// deployments under a waiver or break-glass, overdue retrospective reviews, the age of the
    /// latest rollback drill (docs/METRICS.md).
    Governance(GovernanceArgs),
}

/// `ward metrics governance`.
#[derive(Debug, Args)]
pub struct GovernanceArgs {
    /// Environment (declared in [[environments]]).
    #[arg(long)]
    pub env: String,
    /// Period start: RFC 3339 time or date (midnight UTC). Default: 30 days before --to.
    #[arg(long)]
    pub from: Option<String>,
    /// Period end (exclusive): RFC 3339 time or date. Default: now.
    #[arg(long)]
    pub to: Option<String>,
    /// List the log entries (seq, kind, time) each figure was computed from.
    #[arg(long)]
    pub explain: bool,
}

/// `ward metrics dora`.
#[derive(Debug, Args)]
pub struct DoraArgs {
    /// Environment (declared in [[environments]]).
    #[arg(long)]
    pub env: String,
    /// Only this service (as its artifacts were registered).
    #[arg(long)]
    pub service: Option<String>,
    /// Period start: RFC 3339 time or date (midnight UTC). Default: 30 days before --to.
    #[arg(long)]
    pub from: Option<String>,
    /// Period end (exclusive): RFC 3339 time or date. Default: now.
    #[arg(long)]
    pub to: Option<String>,
    /// List the log entries (seq, kind, time) each figure was computed from.
    #[arg(long)]
    pub explain: bool,
}

/// `ward release …`.
#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Release notes of an environment (Markdown; `--output json` for the structured data).
    Notes {
        /// Environment.
        #[arg(long)]
        env: String,
        /// Only releases deployed at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
    },
}

/// `ward env …`.
#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Record what is running and compare it with what Ward deployed: exit 6 when a digest was
    /// not promoted through Ward (a shadow change), is not the current release, is missing, or
    /// the configuration differs. Reads digests one per line or as JSON (a list, or
    /// `{"digests", "config_digest"}`, or a list of those with `tenant`).
    Observe {
        /// Environment.
        #[arg(long)]
        env: String,
        /// File with what runs (`-` for stdin).
        #[arg(long, required_unless_present = "from_runtime", conflicts_with = "from_runtime")]
        from: Option<PathBuf>,
        /// Ask the environment's runtime (its `observe_command`).
        #[arg(long)]
        from_runtime: bool,
        /// The tenant observed (for a plain digest list).
        #[arg(long)]
        tenant: Option<String>,
        /// The configuration digest seen running (for a plain digest list).
        #[arg(long)]
        config_digest: Option<String>,
        /// Where the observation comes from (recorded).
        #[arg(long, default_value = "")]
        source: String,
    },
}

/// `ward rollout …`.
#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Start rolling a change out on an environment's local runtime (its gate decides first).
    Start {
        /// Change.
        #[arg(long)]
        change: String,
        /// Environment (with [environments.runtime]).
        #[arg(long)]
        env: String,
        /// Override the environment's strategy for this change (with default analysis; see
        /// --strategy-file for a whole strategy).
        #[arg(long, value_parser = ["canary", "blue-green", "rings"], conflicts_with = "strategy_file")]
        strategy: Option<String>,
        /// This change's whole strategy (TOML or JSON, the shape of an environment's
        /// `strategy`: kind, steps, analysis, http_checks, prometheus, …), recorded with it.
        #[arg(long)]
        strategy_file: Option<PathBuf>,
        /// Canary steps in percent (with --strategy canary), e.g. 10,50,100.
        #[arg(long, value_delimiter = ',')]
        steps: Vec<u8>,
        /// How long each step is observed, in milliseconds (with --strategy).
        #[arg(long)]
        pause_ms: Option<u64>,
        /// Follow it until it finishes (exit 7 if it was rolled back) or pauses (exit 8).
        #[arg(long)]
        wait: bool,
    },
    /// A rollout's progress (all rollouts without an id); --watch follows it live.
    Status {
        /// Rollout id (`RO-…`).
        id: Option<String>,
        /// Only this environment (without an id).
        #[arg(long)]
        env: Option<String>,
        /// Follow until it finishes (exit 7 if it was rolled back) or pauses (exit 8).
        #[arg(long)]
        watch: bool,
    },
    /// Hold a rollout at its current step (recorded as yours).
    Pause {
        /// Rollout id.
        id: String,
        /// Why (recorded; 10 characters or more).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Continue a paused rollout (recorded as yours).
    Resume {
        /// Rollout id.
        id: String,
        /// Why (recorded; 10 characters or more).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Skip the remaining steps: the new version takes all traffic now. The skipped steps are
    /// recorded as skipped by you; a high-tier change needs --reason.
    Promote {
        /// Rollout id.
        id: String,
        /// Why the analysis may be skipped (recorded; 10 characters or more; required for a
        /// high-tier change).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Roll back now: all traffic to stable, the new version stopped (recorded as yours).
    Abort {
        /// Rollout id.
        id: String,
        /// Why (recorded; 10 characters or more).
        #[arg(long)]
        reason: Option<String>,
    },
}

/// `ward drill …`.
#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Put the environment back on its previous known-good release on purpose, record the
    /// measured time to restore, then return it to the release it started on (unless --stay).
    Rollback {
        /// Environment (with [environments.runtime]).
        #[arg(long)]
        env: String,
        /// Stay on the previous release afterwards (a real rollback, recorded as a drill).
        #[arg(long)]
        stay: bool,
    },
}

/// `ward config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate ward.toml (locally, exactly as `ward serve` loads it) and print the effective
    /// controls per tier and the policy each environment is gated by; exit 1 naming the error.
    Check {
        /// Configuration file (default: ward.toml in the data directory; the built-in
        /// defaults when there is none).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Publish a bundle (TOML or JSON file, `-` for JSON on stdin); refused whole if it holds a
    /// secret value.
    Set {
        /// Environment.
        #[arg(long)]
        env: String,
        /// For this tenant only (merged over the environment's bundle for its deployments).
        #[arg(long)]
        tenant: Option<String>,
        /// The bundle.
        file: PathBuf,
    },
    /// Show the latest bundle (or the effective configuration) and the history.
    Show {
        /// Environment.
        #[arg(long)]
        env: String,
        /// Tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// The merged configuration a deployment to this tenant receives.
        #[arg(long)]
        effective: bool,
    },
}

/// `ward approve`.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// Change id.
    #[arg(long)]
    pub change: String,
    /// Meaning of the signature: authored, reviewed, approved, qa-approved, release-authority,
    /// privacy-review, uat-signoff, rollback-validated, retrospective-review (or as configured
    /// in [approvals] meanings).
    #[arg(long)]
    pub meaning: String,
    /// Comment recorded with the signature.
    #[arg(long, default_value = "")]
    pub comment: String,
    /// Record a rejection instead of an approval.
    #[arg(long)]
    pub reject: bool,
    /// Re-authenticate with a fresh OIDC token (issued within five minutes) instead.
    #[arg(long, env = "WARD_REAUTH_TOKEN", hide_env_values = true)]
    pub reauth_token: Option<String>,
}

/// `ward purge`.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// The document: `sha256:<hex>` or the reference `doc:sha256:<hex>` found in an event; or
    /// raw evidence by its digest (an attestation's id, a gate decision's input or policy, a
    /// configuration bundle).
    #[arg(required_unless_present = "find", conflicts_with = "find")]
    pub digest: Option<String>,
    /// Why it must go (recorded beside the log; do not repeat the text being purged).
    #[arg(long, required_unless_present = "find", conflicts_with = "find")]
    pub reason: Option<String>,
    /// Purge nothing: list every stored copy of this text (each document and stored file an
    /// entry references), to purge each. `-` reads it from standard input (kept out of the
    /// shell's history). The text is never recorded or printed.
    #[arg(long, value_name = "TEXT")]
    pub find: Option<String>,
    /// Re-authenticate with a fresh OIDC token (issued within five minutes) instead.
    #[arg(long, env = "WARD_REAUTH_TOKEN", hide_env_values = true)]
    pub reauth_token: Option<String>,
}

/// `ward key …`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Trust a public key (PEM: Ed25519, ECDSA P-256 or RSA) to sign for a builder.
    Trust {
        /// Builder name, e.g. `github-actions` (lower-case letters, digits, '.', '_' or '-').
        #[arg(long)]
        builder: String,
        /// The public key file (`-----BEGIN PUBLIC KEY-----`).
        keyfile: PathBuf,
    },
    /// List trusted keys.
    List,
    /// Revoke a key: its signatures no longer verify new attestations.
    Revoke {
        /// Key id (`sha256:…`, from `ward key list`).
        keyid: String,
    },
}

/// `ward attest add`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(false).args(["artifact", "change"])))]
pub struct AttestAddArgs {
    /// Artifact digest.
    #[arg(long)]
    pub artifact: Option<String>,
    /// Or a change id: evidence about the change itself (a pen-test, a rollback plan).
    #[arg(long)]
    pub change: Option<String>,
    /// Format: auto (detect), junit, sarif, cyclonedx, spdx, vulns (Trivy, Grype, osv-scanner,
    /// OSV, pip-audit, CycloneDX VEX), intoto (DSSE envelopes, in-toto-run links; signatures are
    /// checked against `ward key trust`), or custom:NAME (see `ward attest type`). Backup
    /// evidence (no --artifact or --change: it is about the stores of `[[services]]`):
    /// dr:pgbackrest (`pgbackrest info --output=json`), dr:velero (Backup/Restore objects as
    /// JSON), dr:aws-backup (`aws backup list-backup-jobs` / `list-restore-jobs`).
    #[arg(long = "type", default_value = "auto")]
    pub kind: String,
    /// When the PHI/secret guard finds something, store a redacted copy (recording what was
    /// removed) instead of refusing the file.
    #[arg(long)]
    pub redact: bool,
    /// The report file, exactly as the tool wrote it.
    pub file: PathBuf,
}

/// `ward serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default: `[server] listen` in the config, else 127.0.0.1:8080).
    #[arg(long, env = "WARD_LISTEN")]
    pub listen: Option<String>,
    /// Configuration file (`[server]`, `[[oidc]]`); default: ward.toml in the data directory, if
    /// present.
    #[arg(long, env = "WARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, env = "WARD_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "WARD_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds between checks of stored state against the log while serving (0: only the one
    /// at start, which always runs); a mismatch sets `ward_state_consistent` to 0.
    #[arg(long, env = "WARD_STATE_CHECK_INTERVAL", default_value_t = 3600)]
    pub state_check_interval: u64,
}

/// `ward login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Local user to sign in as (default: $USER).
    #[arg(long)]
    pub user: Option<String>,
    /// Read a token (from `ward token create`, or an OIDC token) from stdin instead of
    /// signing in with a password; it is checked with the server before it is stored.
    #[arg(long, conflicts_with = "oidc")]
    pub token_stdin: bool,
    /// Sign in through this OIDC provider (`[[oidc]] name`) with its device flow (RFC 8628):
    /// Ward prints where to go and the code to enter, and waits until you approved it there.
    #[arg(long, conflicts_with = "user")]
    pub oidc: Option<String>,
}

/// `ward token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints it once (only its hash is stored).
    Create(TokenCreateArgs),
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke {
        /// Token id (the 12 hex digits after `ward_`).
        id: String,
    },
}

/// `ward token create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// Token name, kept beside the log; an automation token authenticates as `token:<id>`, its
    /// random id.
    #[arg(long)]
    pub name: String,
    /// Role to grant (repeatable): viewer, auditor, developer, approver, release-manager, admin, privacy-officer.
    #[arg(long = "role", required = true)]
    pub roles: Vec<ward_core::Role>,
    /// Lifetime, e.g. 30d, 12h, 90m; default: no expiry.
    #[arg(long)]
    pub expires: Option<String>,
    /// Issue the token to this local user (a person) instead of an automation.
    #[arg(long)]
    pub user: Option<String>,
}

/// `ward user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a local user; the password is read from stdin (first line) and hashed with argon2id.
    Add(UserAddArgs),
    /// List local users.
    List,
    /// Lift a person's signing lockout (after repeated failed re-authentications).
    Unlock {
        /// A local user name, or an identity such as staff:dana@example.org.
        name: String,
    },
    /// Activate a user another administrator added over the API (a second administrator's
    /// confirmation: until then the user cannot sign in or sign).
    Activate {
        /// The local user name.
        name: String,
    },
}

/// `ward user add`.
#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// Login name.
    #[arg(long)]
    pub name: String,
    /// Printed name, as it will appear on electronic signatures.
    #[arg(long)]
    pub display_name: String,
    /// Role to grant (repeatable).
    #[arg(long = "role", required = true)]
    pub roles: Vec<ward_core::Role>,
}

/// `ward init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Log origin: a unique, schema-less URL naming this log (also the key name).
    #[arg(long, default_value = "ward.local/log")]
    pub origin: String,
}

/// `ward log …`.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Append events read as JSON from stdin (one object, or one per line).
    Append,
    /// Sign a checkpoint of the current log head.
    Checkpoint,
    /// Print the log's size, root and latest checkpoint.
    Status,
    /// Print entries.
    Show(ShowArgs),
    /// Inclusion proof of entry INDEX in the tree of SIZE entries.
    Proof(ProofArgs),
    /// Consistency proof between two tree sizes.
    Consistency(ConsistencyArgs),
    /// Print the verifier key auditors use with `ward verify`.
    Key,
    /// Export the log (C2SP tlog-tiles layout plus checkpoints) to a new directory.
    Export(ExportArgs),
    /// Check the store: recompute every hash from the entries and check every checkpoint.
    Fsck,
    /// Drop and rebuild all projections (state tables) from the log.
    RebuildProjections,
}

/// `ward log show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// First entry.
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// Number of entries.
    #[arg(long, default_value_t = 20)]
    pub limit: u64,
    /// Show the text of each document a payload references (`doc:sha256:…`) in its place, or
    /// `[purged by entry N]` (the events then no longer hash to their leaf hash).
    #[arg(long)]
    pub texts: bool,
}

/// `ward log proof`.
#[derive(Debug, Args)]
pub struct ProofArgs {
    /// Leaf index.
    #[arg(long)]
    pub index: u64,
    /// Tree size; default: the latest checkpoint's.
    #[arg(long)]
    pub size: Option<u64>,
}

/// `ward log consistency`.
#[derive(Debug, Args)]
pub struct ConsistencyArgs {
    /// Older tree size.
    #[arg(long)]
    pub from: u64,
    /// Newer tree size.
    #[arg(long)]
    pub to: u64,
}

/// `ward log export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Destination directory (must not exist or be empty).
    #[arg(long)]
    pub out: PathBuf,
}

/// `ward verify`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct VerifyArgs {
    /// What to verify instead of an export directory.
    #[command(subcommand)]
    pub what: Option<VerifyCommand>,
    /// Export directory.
    #[arg(required = true)]
    pub dir: Option<PathBuf>,
    /// Verifier key (`name+hex8+base64`), or a file holding it.
    #[arg(long, env = "WARD_VERIFIER_KEY", required = true)]
    pub key: Option<String>,
}

/// `ward verify …`.
#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Verify an evidence bundle (`ward bundle export`) offline: every file against the
    /// manifest, every entry's proof against the signed checkpoint, the checkpoint against the
    /// key, every gate decision replayed, every approval manifest and the report against the
    /// entries. Exit 3 naming the first failure.
    Bundle {
        /// The bundle file.
        file: PathBuf,
        /// Verifier key (`name+hex8+base64`), or a file holding it.
        #[arg(long, env = "WARD_VERIFIER_KEY")]
        key: String,
    },
    /// Verify a population (`ward audit population`) offline: the manifest's signature by the
    /// log's key, each file's sha256, the checkpoint's signature, the row count. Exit 3 naming
    /// the first file that fails.
    Population {
        /// The population directory.
        dir: PathBuf,
        /// Verifier key (`name+hex8+base64`), or a file holding it.
        #[arg(long, env = "WARD_VERIFIER_KEY")]
        key: String,
    },
}

/// `ward report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The compliance evidence report of a period: HIPAA §164.312(b), (c)(1), (d); 21 CFR Part 11
    /// §11.10(e), §11.50, §11.70, §11.200, §11.300; SOC 2 CC8.1, CC6.1; NIST 800-53 CM-3, CM-5,
    /// AU-9, AU-10 — each with the figures Ward's log holds, the exceptions and how to check them.
    /// Evidence for the controls, not a certification. An auditor's export (`access.report`).
    Compliance {
        /// Period start (inclusive), RFC 3339.
        #[arg(long)]
        from: String,
        /// Period end (exclusive), RFC 3339.
        #[arg(long)]
        to: String,
        /// One environment (default: every production environment).
        #[arg(long)]
        env: Option<String>,
        /// html (one self-contained page), md, or pdf (the page printed by headless Chromium).
        #[arg(long, default_value = "html")]
        format: String,
        /// A new file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `ward audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Every production deployment in the period, one row each — change, ticket, tier,
    /// approvers and meanings, whether approval preceded deployment, whether separation of
    /// duties held, whether the required evidence was complete, and the exceptions — written to
    /// DIR as population.csv and population.json with manifest.json and manifest.sig (the
    /// manifest signed by the log's key, with the signed checkpoint it was computed at). An
    /// auditor's export: recorded as `access.population`.
    Population {
        /// The control (`change-management`).
        #[arg(long, default_value = "change-management")]
        control: String,
        /// Period start (inclusive), RFC 3339.
        #[arg(long)]
        from: String,
        /// Period end (exclusive), RFC 3339.
        #[arg(long)]
        to: String,
        /// One environment (default: every production environment, the end of each chain).
        #[arg(long)]
        env: Option<String>,
        /// A new directory to write the four files to.
        #[arg(long)]
        out: PathBuf,
    },
    /// Searches the log below a fresh signed checkpoint: the entries that concern an artifact
    /// (--digest, or --service [--version]), a change (--change, or --ticket), a person, an
    /// environment, a tenant or an event kind (a prefix ending in `.`), within --from/--to; every
    /// criterion given must hold. Prints each entry's log index, time, kind, subject and actor,
    /// and the changes found (--bundle DIR writes change-ID.tar, the bundle of each). An
    /// auditor's read: recorded as `access.search`.
    #[command(disable_version_flag = true)]
    Search {
        /// An artifact digest.
        #[arg(long)]
        digest: Option<String>,
        /// A service (the digests registered under it; with --version, under that version).
        #[arg(long)]
        service: Option<String>,
        /// A version of --service.
        #[arg(long, requires = "service")]
        version: Option<String>,
        /// A change id.
        #[arg(long)]
        change: Option<String>,
        /// A ticket URL (the changes that name it).
        #[arg(long)]
        ticket: Option<String>,
        /// A person or automation (`user:NAME`, `token:NAME`, `oidc:…`): the actor, or named as
        /// signer, approver, opener, editor, owner or the one who broke the glass.
        #[arg(long)]
        person: Option<String>,
        /// An environment.
        #[arg(long)]
        env: Option<String>,
        /// A tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// An event kind, or a prefix ending in `.` (e.g. `approval.`).
        #[arg(long)]
        kind: Option<String>,
        /// From (inclusive), RFC 3339.
        #[arg(long)]
        from: Option<String>,
        /// To (exclusive), RFC 3339.
        #[arg(long)]
        to: Option<String>,
        /// Also write the bundle of each change found into this new directory.
        #[arg(long)]
        bundle: Option<PathBuf>,
    },
    /// Draws a reproducible sample from a verified population directory: each row ranked by
    /// sha256(MANIFEST "\n" SEED "\n" DEPLOYMENT), the N lowest taken (docs/AUDIT.md). Writes sample.csv and
    /// sample.json to --out; --bundle writes the evidence bundle of each sampled deployment.
    Sample {
        /// The directory `ward audit population` wrote.
        #[arg(long)]
        population: PathBuf,
        /// The log's verifier key (`name+hex8+base64`, or a file holding it), obtained
        /// independently of the host audited: the population is verified before the draw.
        #[arg(long, env = "WARD_VERIFIER_KEY")]
        key: String,
        /// How many rows.
        #[arg(long)]
        n: usize,
        /// The seed (any text the auditor chooses and writes down).
        #[arg(long)]
        seed: String,
        /// A new directory for sample.csv and sample.json.
        #[arg(long)]
        out: PathBuf,
        /// Also write deployment-<N>.tar, the bundle of each sampled deployment, here.
        #[arg(long)]
        bundle: Option<PathBuf>,
    },
}

/// `ward bundle …`.
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Write the evidence bundle of a change, a deployment or a period of an environment: every
    /// log entry concerned with its inclusion proof to one signed checkpoint, the documents and
    /// evidence they reference, and a report (report.html, report.md). An auditor's export,
    /// recorded as an access event.
    #[command(group(clap::ArgGroup::new("query").required(true).args(["change", "deployment", "env"])))]
    Export {
        /// The change: all of its story.
        #[arg(long)]
        change: Option<String>,
        /// Or a deployment (its record's log entry, `ward deployments --env ENV`): its change's
        /// story up to it, and what rolled it back.
        #[arg(long)]
        deployment: Option<u64>,
        /// Or every change deployed to this environment in a period (--from, --to), each with
        /// its story.
        #[arg(long, requires_all = ["from", "to"])]
        env: Option<String>,
        /// Start of the period (RFC 3339, inclusive).
        #[arg(long, requires = "env")]
        from: Option<String>,
        /// End of the period (RFC 3339, exclusive).
        #[arg(long, requires = "env")]
        to: Option<String>,
        /// Only deployments that reached this tenant.
        #[arg(long, requires = "env")]
        tenant: Option<String>,
        /// The bundle file to write (a tar archive; refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `ward demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's data directory here instead of a temporary one.
    #[arg(long)]
    pub keep: Option<PathBuf>,
}

/// `ward bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Durable appends through group commit by many concurrent writers.
    Append(BenchAppendArgs),
    /// Authenticated appends over HTTP by many concurrent clients (starts a server on loopback
    /// on the data directory's store, or drives --server with --token).
    Http(BenchHttpArgs),
    /// Gate decision latency with many changes in the store (input reads, policy evaluation,
    /// and the recorded decision).
    Gate(BenchGateArgs),
    /// The router's added latency at a fixed rate and its maximum throughput, beside a direct
    /// connection and nginx with the same weighted split (sample service instances behind both).
    Router(BenchRouterArgs),
    /// Automated rollback under load: a bad canary (30% errors) rolled out on the local runtime
    /// while clients send a fixed rate through the router; canary start → rollback recorded,
    /// and the breaching measurement → all traffic on stable, per rate.
    Rollback(BenchRollbackArgs),
}

/// `ward bench router`.
#[derive(Debug, Args)]
pub struct BenchRouterArgs {
    /// Requests per second for the latency run.
    #[arg(long, default_value_t = 2000)]
    pub rate: u64,
    /// Seconds of the latency run (the throughput run lasts at most 5 s).
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Concurrent clients for the maximum-throughput run.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Share of traffic to the canary instance.
    #[arg(long, default_value_t = 10)]
    pub canary_percent: u8,
    /// The sample service binary (default: `ward-sample-service` beside `ward`, else `ward
    /// sample-service` itself).
    #[arg(long)]
    pub sample: Option<PathBuf>,
    /// nginx binary (default /usr/sbin/nginx; skipped when absent).
    #[arg(long)]
    pub nginx: Option<PathBuf>,
    /// Pin the load generator to the last CPU and everything measured (router, nginx, the
    /// service instances) to the others, so they do not compete for a core.
    #[arg(long)]
    pub pin: bool,
}

/// `ward bench rollback`.
#[derive(Debug, Args)]
pub struct BenchRollbackArgs {
    /// Request rates through the router (requests per second), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "50,500")]
    pub rates: Vec<f64>,
    /// Rollbacks measured per rate (each on a fresh store and runtime).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

/// `ward bench gate`.
#[derive(Debug, Args)]
pub struct BenchGateArgs {
    /// Changes in the store.
    #[arg(long, default_value_t = 100_000)]
    pub changes: u64,
    /// Of those, how many carry evidence (3 real attestations on their artifact) and are checked.
    #[arg(long, default_value_t = 100)]
    pub with_evidence: u64,
    /// Gate checks to time.
    #[arg(long, default_value_t = 1000)]
    pub checks: u64,
    /// Also declare a DR inventory (the 20 bench services, high tier, one store each) with 30
    /// nights of pgBackRest reports and a signed restore test per store, so every check judges
    /// DR readiness (`input.dr`) too.
    #[arg(long)]
    pub dr: bool,
}

/// `ward bench http`.
#[derive(Debug, Args)]
pub struct BenchHttpArgs {
    /// Concurrent clients (each with its own connection).
    #[arg(long, default_value_t = 200)]
    pub clients: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    /// Payload bytes per event.
    #[arg(long, default_value_t = 200)]
    pub payload: usize,
}

/// `ward bench append`.
#[derive(Debug, Args)]
pub struct BenchAppendArgs {
    /// Events to append.
    #[arg(long, default_value_t = 100_000)]
    pub count: u64,
    /// Concurrent writers (tasks).
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Payload bytes per event.
    #[arg(long, default_value_t = 200)]
    pub payload: usize,
}

/// Hidden helpers.
#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// Append forever; print `seq leaf_hash` for every acknowledged append (crash tests).
    AppendLoop(AppendLoopArgs),
}

/// `ward debug append-loop`.
#[derive(Debug, Args)]
pub struct AppendLoopArgs {
    /// Concurrent writers.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Writer tag recorded in each event's subject.
    #[arg(long, default_value = "w")]
    pub tag: String,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_grammar_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
