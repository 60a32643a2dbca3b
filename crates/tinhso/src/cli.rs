//! Command-line grammar.

use clap::{Args as ClapArgs, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "tinhso",
    version,
    about = "Tỉnh số — nền tảng chính quyền số / digital government platform"
)]
pub struct Args {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, Clone, ClapArgs)]
pub struct Global {
    /// TOML configuration file.
    #[arg(long, global = true, env = "TINHSO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite file, local blobs, keys). Default ./data
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://… Default: SQLite in the data directory.
    #[arg(long, global = true)]
    pub database: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (migrations run first).
    Serve {
        /// Public listen address. Default 127.0.0.1:8080
        #[arg(long)]
        listen: Option<String>,
        /// Admin listener (Prometheus metrics). Default 127.0.0.1:9180
        #[arg(long)]
        admin_listen: Option<String>,
        /// Create the demo province, agencies and accounts (once) and print their passwords.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Administration: accounts, roles, agencies.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Import reference data.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Write a consistent online backup (database + blobs + keys) to OUT.
    Backup { out: PathBuf },
    /// Restore a backup into an empty database and data directory.
    Restore { input: PathBuf },
    /// The audit chain.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The procedure catalogue of the one-stop shop.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Working-day calendar.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// edXML packages (QCVN 102:2016): validate, inspect, build.
    Edxml {
        #[command(subcommand)]
        command: EdxmlCommand,
    },
    /// Digital signatures: the test CA, signing and verifying PDFs (PAdES).
    Signing {
        #[command(subcommand)]
        command: SigningCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum EdxmlCommand {
    /// Check a package: exit 0 when valid, else 1 with one problem per line on stdout
    /// (the rule code, then a readable message); 2 when the file cannot be opened.
    /// The signature is verified against the certificate the package carries; whether that
    /// certificate chains to a trusted CA (`--anchor` and `signing.trust_anchors`) is a
    /// warning on stderr, or a problem with `--require-trusted`.
    Validate {
        file: PathBuf,
        /// A PEM file of trusted CA certificates, beside `signing.trust_anchors`; repeatable.
        #[arg(long = "anchor")]
        anchors: Vec<PathBuf>,
        /// Refuse a signature whose certificate does not chain to a trusted CA.
        #[arg(long)]
        require_trusted: bool,
    },
    /// Print the parsed header and the attachments (name, type, size) as JSON.
    Inspect { file: PathBuf },
    /// Write a package: a document from --header and --attach, or a status package from --status.
    Build {
        /// The document package's header as JSON (the element names of the package).
        #[arg(long, required_unless_present = "status", conflicts_with = "status")]
        header: Option<PathBuf>,
        /// A status package as JSON.
        #[arg(long)]
        status: Option<PathBuf>,
        /// An attachment, FILE or FILE:ContentType; repeatable, in manifest order.
        #[arg(long = "attach", conflicts_with = "status")]
        attach: Vec<String>,
        /// Where to write the package.
        #[arg(long)]
        out: PathBuf,
        /// Sign the package (XML-DSig, RSA-SHA256) with this PKCS#12 key; default
        /// `signing.pkcs12_path`. `--unsigned` writes a package without a signature.
        #[arg(long, conflicts_with = "unsigned")]
        p12: Option<PathBuf>,
        /// Password of the PKCS#12 key; default `signing.pkcs12_password`.
        #[arg(long, env = "TINHSO_SIGNING_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Write the package without a signature (for tests and for signing elsewhere).
        #[arg(long)]
        unsigned: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SigningCommand {
    /// Write a test CA with a signer, a timestamp authority and an expired signer (PKCS#12
    /// with password `tinhso-demo`, and PEM) into DIR. For the demo and tests only: a
    /// province configures the CA it really uses.
    TestCa {
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a PDF as PAdES B-B, or B-T when --tsa names an RFC 3161 timestamp authority.
    Sign {
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// PKCS#12 file with the signer's key and certificate.
        #[arg(long)]
        p12: PathBuf,
        /// Password of the PKCS#12 file.
        #[arg(long, env = "TINHSO_SIGNING_PASSWORD", hide_env_values = true)]
        password: String,
        /// Timestamp authority URL (HTTP POST application/timestamp-query).
        #[arg(long)]
        tsa: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        location: Option<String>,
    },
    /// Verify every signature of a PDF against trusted CA certificates (PEM files); exits
    /// non-zero when a signature has a problem.
    Verify {
        input: PathBuf,
        /// A PEM file of trusted CA certificates; repeatable.
        #[arg(long = "anchor")]
        anchors: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Print the whole current catalogue of the configured database.
    Export {
        #[arg(long, default_value = "json")]
        format: String,
    },
    /// Import a catalogue file, JSON or xlsx (told apart by content; the xlsx layout is the
    /// one `export --format xlsx` writes). All procedures or none; changed ones get a new
    /// version.
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (secrets redacted).
    Print,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Load an administrative-unit file (three-level or two-level shape, recognised).
    Units { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain; exits non-zero and names the first bad record if it is broken.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an official's account and grant a role.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// Agency identifier, e.g. 000.00.31.H32
        #[arg(long)]
        agency: String,
        /// citizen-facing roles are not granted here; e.g. specialist, agency_admin
        #[arg(long)]
        role: String,
        /// Initial password; a random one is generated and printed when omitted.
        #[arg(long)]
        password: Option<String>,
    },
    /// Create a citizen's local account keyed by the 12-digit personal ID number.
    CreateCitizen {
        #[arg(long)]
        personal_id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        password: Option<String>,
    },
    /// Reset a password (lifts a lockout, ends the user's sessions, forces a change).
    ResetPassword {
        username: String,
        #[arg(long)]
        password: Option<String>,
    },
    /// Grant a role within an agency subtree.
    Grant {
        username: String,
        role: String,
        agency: String,
    },
    /// Revoke a role grant.
    Revoke {
        username: String,
        role: String,
        agency: String,
    },
    /// Create an agency.
    CreateAgency {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        parent: Option<String>,
        #[arg(long, default_value = "department")]
        level: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Lunar date of a solar date: prints YYYY-MM-DD, then " leap" for a leap month.
    Lunar { date: String },
    /// Solar date of a lunar date.
    Solar {
        date: String,
        #[arg(long)]
        leap: bool,
    },
    /// Days off of a year, one per line, starting with YYYY-MM-DD.
    Holidays { year: i32 },
    /// Due instant (RFC 3339) after N working days or hours.
    Add {
        #[arg(long)]
        from: String,
        #[arg(long)]
        working_days: Option<i64>,
        #[arg(long)]
        working_hours: Option<i64>,
        /// Agency identifier whose office hours apply.
        #[arg(long)]
        agency: Option<String>,
    },
    /// Store a year's official schedule from a JSON file (extra days off, swapped working days).
    SetSchedule { file: PathBuf },
}
