//! What each subcommand does. Thin: parse, call a platform service, print.

use chrono::NaiveDate;
use rand::Rng;
use std::process::ExitCode;
use std::time::Instant;
use tinhso_core::access::Role;
use tinhso_core::calendar::{LunarDate, WorkingCalendar, lunar_to_solar, solar_to_lunar};
use tinhso_core::identity::AccountKind;
use tinhso_platform::audit::Verdict;
use tinhso_platform::identity::{self, NewUser};
use tinhso_platform::org::{self, NewAgency};
use tinhso_platform::{Config, Ctx, Db, Error, Platform, Result, backup, calendar, demo};

use crate::cli::{
    AdminCommand, Args, AuditCommand, CalendarCommand, CatalogCommand, Command, ConfigCommand,
    Global, ImportCommand, SigningCommand,
};

/// The schema of every system this binary links: the foundation's and each system crate's.
pub const MIGRATIONS: [&[tinhso_platform::Migration]; 4] = [
    tinhso_platform::FOUNDATION_MIGRATIONS,
    tinhso_onestop::MIGRATIONS,
    tinhso_documents::MIGRATIONS,
    tinhso_exchange::MIGRATIONS,
];

/// Configuration from defaults, file and environment, then the command-line flags.
fn load_config(global: &Global) -> Result<Config> {
    let mut config = Config::load(global.config.as_deref(), std::env::vars())?;
    if let Some(dir) = &global.data_dir {
        config.server.data_dir = dir.clone();
    }
    if let Some(url) = &global.database {
        config.database.url = url.clone();
    }
    Ok(config)
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The async runtime for the command: the server's follows its configuration (see
/// [`tinhso_platform::runtime`]); a configuration that does not load gets the default, and
/// the command then reports why.
pub fn runtime(args: &Args) -> std::io::Result<tokio::runtime::Runtime> {
    let config = match args.command {
        Command::Serve { .. } => load_config(&args.global).ok(),
        _ => None,
    };
    match config {
        Some(config) => tinhso_platform::runtime::for_config(&config),
        None => tinhso_platform::runtime::builder(0).build(),
    }
}

pub async fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Calendar { command } => calendar_command(&args.global, command).await,
        // Works on files only: the configuration names the trust anchors and the key, no
        // database is opened.
        Command::Edxml { command } => Ok(crate::edxml::run(
            command,
            &load_config(&args.global)?.signing,
            unix_now(),
        )),
        Command::Signing { command } => signing_command(command).await,
        Command::Config {
            command: ConfigCommand::Print,
        } => {
            print!("{}", load_config(&args.global)?.redacted().to_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            listen,
            admin_listen,
            demo,
        } => {
            let mut config = load_config(&args.global)?;
            if let Some(listen) = listen {
                // A public URL left at its default follows the address listened on, so that
                // links the server builds (payment checkout and return) reach it.
                let default_url = tinhso_platform::Config::default().server.public_url;
                if config.server.public_url == default_url
                    && config.server.listen == tinhso_platform::Config::default().server.listen
                {
                    config.server.public_url = format!("http://{listen}");
                }
                config.server.listen = listen;
            }
            if let Some(admin) = admin_listen {
                config.server.admin_listen = admin;
            }
            serve(config, demo).await
        }
        Command::Restore { input } => {
            let config = load_config(&args.global)?;
            let db = Db::connect(
                &config.database_url(),
                4,
                &config.database.sqlite_synchronous,
            )
            .await?;
            let manifest = backup::restore(&db, &config, &MIGRATIONS, &input).await?;
            println!(
                "restored {} tables and {} blobs from {}",
                manifest.tables.len(),
                manifest.blobs,
                input.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        command => {
            let config = load_config(&args.global)?;
            init_logging(&config);
            let platform = Platform::open_with(config, &MIGRATIONS).await?;
            let code = platform_command(&platform, command).await;
            platform.db.close().await;
            code
        }
    }
}

async fn platform_command(p: &Platform, command: Command) -> Result<ExitCode> {
    let ctx = Ctx::cli(p.now_ms());
    match command {
        Command::Migrate => println!("migrations applied"),
        Command::Import {
            command: ImportCommand::Units { file },
        } => {
            let text = std::fs::read_to_string(&file)?;
            let units = tinhso_core::units::parse_unit_file(&text)?;
            let era = units.first().map(|u| u.era.clone()).unwrap_or_default();
            let count = org::import_units(p, &ctx, &units).await?;
            println!("imported {count} units ({era})");
        }
        Command::Backup { out } => {
            let manifest = backup::backup(p, &out).await?;
            let rows: u64 = manifest.tables.iter().map(|(_, n)| n).sum();
            println!(
                "backup written to {}: {rows} rows, {} blobs",
                out.display(),
                manifest.blobs
            );
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            return Ok(
                match tinhso_platform::audit::verify(&p.db, &p.audit_key).await? {
                    Verdict::Intact { records } => {
                        println!("audit chain intact: {records} records verified");
                        ExitCode::SUCCESS
                    }
                    Verdict::Broken(problem) => {
                        println!("AUDIT CHAIN BROKEN: {problem}");
                        ExitCode::from(2)
                    }
                },
            );
        }
        Command::Admin { command } => admin_command(p, &ctx, command).await?,
        Command::Catalog { command } => catalog_command(p, &ctx, command).await?,
        _ => return Err(Error::Other("unsupported command".into())),
    }
    Ok(ExitCode::SUCCESS)
}

async fn catalog_command(p: &Platform, ctx: &Ctx, command: CatalogCommand) -> Result<()> {
    use tinhso_onestop::catalog;
    match command {
        CatalogCommand::Export { format } => {
            let file = catalog::export(p).await?;
            match format.as_str() {
                "json" => {
                    let text = serde_json::to_string_pretty(&file)
                        .map_err(|e| Error::Other(e.to_string()))?;
                    println!("{text}");
                }
                // Binary to standard output: `tinhso catalog export --format xlsx > thu-tuc.xlsx`.
                "xlsx" => {
                    use std::io::Write;
                    std::io::stdout().write_all(&tinhso_onestop::export::catalog_xlsx(&file)?)?;
                }
                other => {
                    return Err(Error::Other(format!(
                        "unknown format `{other}` (json, xlsx)"
                    )));
                }
            }
        }
        CatalogCommand::Import { file } => {
            // Read at most one byte past the limit, so an oversized file is refused without
            // being read whole.
            use std::io::Read;
            let mut bytes = Vec::new();
            std::fs::File::open(&file)?
                .take(catalog::MAX_IMPORT_BYTES as u64 + 1)
                .read_to_end(&mut bytes)?;
            let parsed = catalog::parse_file(&bytes)
                .map_err(|e| Error::Other(format!("{}: {e}", file.display())))?;
            let report = catalog::import(p, ctx, &parsed).await?;
            println!(
                "created {}, new versions {}, unchanged {}",
                report.created, report.new_versions, report.unchanged
            );
        }
    }
    Ok(())
}

fn generated_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

async fn user_id(p: &Platform, username: &str) -> Result<i64> {
    identity::user_by_username(p, &username.trim().to_lowercase())
        .await?
        .map(|u| u.id)
        .ok_or_else(|| Error::Other(format!("no account `{username}`")))
}

async fn agency_id(p: &Platform, code: &str) -> Result<i64> {
    org::resolve_agency_code(p, code)
        .await?
        .map(|a| a.id)
        .ok_or_else(|| Error::Other(format!("no agency with identifier `{code}`")))
}

async fn admin_command(p: &Platform, ctx: &Ctx, command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::CreateUser {
            username,
            name,
            agency,
            role,
            password,
        } => {
            let role = Role::parse(&role)?;
            let agency = agency_id(p, &agency).await?;
            let (password, shown) = match password {
                Some(p) => (p, false),
                None => (generated_password(), true),
            };
            let user = identity::create_user(
                p,
                ctx,
                &NewUser {
                    kind: AccountKind::Official,
                    username,
                    display_name: name,
                    personal_id: None,
                    tax_code: None,
                    email: String::new(),
                    phone: String::new(),
                    agency_id: Some(agency),
                    password: Some(password.clone()),
                    must_change_password: true,
                },
            )
            .await?;
            identity::grant_role(p, ctx, user.id, role, agency).await?;
            println!(
                "created {} (id {}) with role {role}",
                user.username, user.id
            );
            if shown {
                println!("initial password (must be changed at first login): {password}");
            }
        }
        AdminCommand::CreateCitizen {
            personal_id,
            name,
            password,
        } => {
            let password = password.unwrap_or_else(generated_password);
            let user = identity::create_user(
                p,
                ctx,
                &NewUser {
                    kind: AccountKind::Citizen,
                    username: String::new(),
                    display_name: name,
                    personal_id: Some(personal_id),
                    tax_code: None,
                    email: String::new(),
                    phone: String::new(),
                    agency_id: None,
                    password: Some(password.clone()),
                    must_change_password: false,
                },
            )
            .await?;
            println!(
                "created citizen {} (id {}); password: {password}",
                user.username, user.id
            );
        }
        AdminCommand::ResetPassword { username, password } => {
            let id = user_id(p, &username).await?;
            let password = password.unwrap_or_else(generated_password);
            identity::reset_password(p, ctx, id, &password, true).await?;
            println!("password of {username} reset; temporary password: {password}");
        }
        AdminCommand::Grant {
            username,
            role,
            agency,
        } => {
            identity::grant_role(
                p,
                ctx,
                user_id(p, &username).await?,
                Role::parse(&role)?,
                agency_id(p, &agency).await?,
            )
            .await?;
            println!("granted {role} at {agency} to {username}");
        }
        AdminCommand::Revoke {
            username,
            role,
            agency,
        } => {
            identity::revoke_role(
                p,
                ctx,
                user_id(p, &username).await?,
                Role::parse(&role)?,
                agency_id(p, &agency).await?,
            )
            .await?;
            println!("revoked {role} at {agency} from {username}");
        }
        AdminCommand::CreateAgency {
            code,
            name,
            parent,
            level,
        } => {
            let agency = org::create_agency(
                p,
                ctx,
                &NewAgency {
                    code,
                    name,
                    short_name: String::new(),
                    parent_code: parent,
                    level,
                    unit_era: None,
                    unit_code: None,
                },
            )
            .await?;
            println!("created agency {} (id {})", agency.code, agency.id);
        }
    }
    Ok(())
}

fn parse_date(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| Error::Other(format!("`{text}` is not a YYYY-MM-DD date")))
}

fn read_file(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Other(format!("{}: {e}", path.display())))
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Signing needs no database: the key, the document and the trust anchors are files.
async fn signing_command(command: SigningCommand) -> Result<ExitCode> {
    use tinhso_signing::pades::{self, SignOptions};
    let failed = |code: &str, e: &dyn std::fmt::Display| Error::Other(format!("{code}: {e}"));
    match command {
        SigningCommand::TestCa { out } => {
            let pki = tinhso_signing::test_ca::TestPki::generate(unix_now())
                .map_err(|e| failed(e.code(), &e))?;
            for path in pki.write_to(&out).map_err(|e| failed(e.code(), &e))? {
                println!("{}", path.display());
            }
        }
        SigningCommand::Sign {
            input,
            out,
            p12,
            password,
            tsa,
            reason,
            location,
        } => {
            let signer = tinhso_signing::Pkcs12Signer::from_pkcs12(&read_file(&p12)?, &password)
                .map_err(|e| failed(e.code(), &e))?;
            let options = SignOptions {
                signing_time_unix: unix_now(),
                reason,
                location,
            };
            let pdf = read_file(&input)?;
            let signed = match tsa {
                Some(url) => {
                    let authority = tinhso_signing::timestamp::HttpTimestampAuthority::new(
                        &url,
                        std::time::Duration::from_secs(30),
                    )
                    .map_err(|e| failed(e.code(), &e))?;
                    pades::sign_pdf_timestamped(&pdf, &signer, &options, &authority).await
                }
                None => pades::sign_pdf(&pdf, &signer, &options),
            }
            .map_err(|e| failed(e.code(), &e))?;
            std::fs::write(&out, signed)
                .map_err(|e| Error::Other(format!("{}: {e}", out.display())))?;
            println!("{}", out.display());
        }
        SigningCommand::Verify { input, anchors } => {
            let mut trusted = Vec::new();
            for path in &anchors {
                trusted.extend(
                    tinhso_signing::pki::certificates_from_pem(&read_file(path)?)
                        .map_err(|e| failed(e.code(), &e))?,
                );
            }
            let reports = pades::verify_pdf(&read_file(&input)?, &trusted, unix_now())
                .map_err(|e| failed(e.code(), &e))?;
            if reports.is_empty() {
                println!("no signature");
                return Ok(ExitCode::FAILURE);
            }
            let vietnam = chrono::FixedOffset::east_opt(7 * 3600);
            let show = |t: Option<i64>| {
                t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                    .zip(vietnam)
                    .map(|(t, tz)| t.with_timezone(&tz).to_rfc3339())
                    .unwrap_or_else(|| "-".into())
            };
            for (i, r) in reports.iter().enumerate() {
                let signer = r.signer.as_ref();
                println!(
                    "signature {}: {}",
                    i + 1,
                    r.field_name.as_deref().unwrap_or("-")
                );
                println!(
                    "  signer: {} ({})",
                    signer.map_or("-", |s| s.subject.short()),
                    signer
                        .and_then(|s| s.subject.organization.as_deref())
                        .unwrap_or("-")
                );
                println!("  signing time (/M): {}", show(r.signing_time_unix));
                if let Some(ts) = &r.timestamp {
                    println!("  timestamp: {}", show(Some(ts.time_unix)));
                }
                println!("  covers whole file: {}", r.covers_whole_file);
                println!("  intact: {}  trusted: {}", r.intact, r.trusted);
                for p in &r.problems {
                    println!("  problem {}: {}", p.code, p.message);
                }
                println!("  {}", if r.is_valid() { "VALID" } else { "NOT VALID" });
            }
            if reports.iter().any(|r| !r.is_valid()) {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Lunar and solar conversions need no database; holidays and due dates read the configured
/// calendar when the database exists, and the shipped defaults otherwise (so checking a date
/// never creates an empty database by accident).
async fn calendar_command(global: &Global, command: CalendarCommand) -> Result<ExitCode> {
    match command {
        CalendarCommand::Lunar { date } => {
            let lunar = solar_to_lunar(parse_date(&date)?);
            let leap = if lunar.leap { " leap" } else { "" };
            println!(
                "{:04}-{:02}-{:02}{leap}",
                lunar.year, lunar.month, lunar.day
            );
        }
        CalendarCommand::Solar { date, leap } => {
            let parsed = parse_date(&date)?;
            let lunar = LunarDate {
                year: chrono::Datelike::year(&parsed),
                month: chrono::Datelike::month(&parsed),
                day: chrono::Datelike::day(&parsed),
                leap,
            };
            let solar = lunar_to_solar(lunar).map_err(|e| Error::Other(e.to_string()))?;
            println!("{solar}");
        }
        CalendarCommand::Holidays { year } => {
            if !(1900..=2100).contains(&year) {
                return Err(Error::Other("year must be between 1900 and 2100".into()));
            }
            let days = match open_existing(global).await? {
                Some(p) => calendar::holidays(&p, year).await?,
                None => WorkingCalendar::default().holidays_in_year(year),
            };
            for day in days {
                println!("{} {} ({})", day.date, day.name_vi, day.name_en);
            }
        }
        CalendarCommand::Add {
            from,
            working_days,
            working_hours,
            agency,
        } => {
            let from = chrono::DateTime::parse_from_rfc3339(&from).map_err(|_| {
                Error::Other(format!(
                    "`{from}` is not an RFC 3339 instant (e.g. 2027-02-03T16:00:00+07:00)"
                ))
            })?;
            let due = match open_existing(global).await? {
                Some(p) => {
                    calendar::due(&p, from, working_days, working_hours, agency.as_deref()).await?
                }
                None if agency.is_some() => {
                    return Err(Error::Other("--agency needs a configured database".into()));
                }
                None => {
                    let empty = |n: Option<i64>| {
                        n.map(|v| {
                            u64::try_from(v)
                                .map_err(|_| Error::Other("amounts are non-negative".into()))
                        })
                        .transpose()
                    };
                    let cal = WorkingCalendar::default();
                    match (empty(working_days)?, empty(working_hours)?) {
                        (Some(d), None) => cal.add_working_days(from, d),
                        (None, Some(h)) => cal.add_working_hours(from, h),
                        _ => {
                            return Err(Error::Other(
                                "give either --working-days or --working-hours".into(),
                            ));
                        }
                    }
                    .map_err(|e| Error::Other(e.to_string()))?
                }
            };
            println!("{}", due.to_rfc3339());
        }
        CalendarCommand::SetSchedule { file } => {
            let text = std::fs::read_to_string(&file)?;
            let schedule = serde_json::from_str(&text)
                .map_err(|e| Error::Other(format!("{}: {e}", file.display())))?;
            let p = Platform::open_with(load_config(global)?, &MIGRATIONS).await?;
            calendar::set_schedule(&p, &Ctx::cli(p.now_ms()), &schedule).await?;
            println!("schedule stored");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn open_existing(global: &Global) -> Result<Option<Platform>> {
    let config = load_config(global)?;
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        let path = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        if !std::path::Path::new(path).exists() {
            return Ok(None);
        }
    }
    Ok(Some(Platform::open_with(config, &MIGRATIONS).await?))
}

/// The defaults suit the demo; a real installation must not run on them unnoticed: the
/// sandbox lets anyone "pay" a fee, and without a scanner uploads are stored unscanned.
fn warn_about_test_adapters(config: &Config) {
    if config.payment.backend == "sandbox" {
        tracing::warn!(
            "payment.backend is `sandbox`: fees are confirmed by the built-in test gateway and no money is collected; configure the province's payment gateway before going live"
        );
    }
    if config.scanner.backend == "none" {
        tracing::warn!(
            "scanner.backend is `none`: uploads are stored without a malware scan; configure clamd before going live"
        );
    }
}

async fn serve(mut config: Config, demo_mode: bool) -> Result<ExitCode> {
    let started = Instant::now();
    init_logging(&config);
    if demo_mode {
        let now_unix = chrono::Utc::now().timestamp();
        if let Some(dir) = tinhso_documents::demo::use_demo_pki(&mut config, now_unix)? {
            tracing::warn!(
                dir = %dir.display(),
                "signing with the demo test CA (no signing.pkcs12_path configured): its signatures are trusted only where its ca.pem is"
            );
        }
    }
    let platform = Platform::open_with(config, &MIGRATIONS).await?;
    if demo_mode {
        if demo::seed(&platform).await? {
            tracing::info!("demo data created");
        }
        if tinhso_onestop::catalog::seed_demo(&platform).await? {
            tracing::info!("demo procedure catalogue loaded");
        }
        if tinhso_onestop::demo_dossiers::seed(&platform).await? {
            tracing::info!("demo dossiers filed");
        }
        if tinhso_documents::demo::seed(&platform).await? {
            tracing::info!(
                clerk = tinhso_documents::demo::DEMO_CLERK.0,
                "demo documents registered (the ward's clerk logs in with the demo password)"
            );
        }
    }
    if !demo_mode {
        warn_about_test_adapters(&platform.config);
    }
    let state = tinhso_web::AppState::new(platform.clone(), demo_mode).await?;
    tinhso_web::metrics_handle();
    let listen = platform.config.server.listen.clone();
    let admin_listen = platform.config.server.admin_listen.clone();
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| Error::Other(format!("cannot listen on {listen}: {e}")))?;
    let admin_listener = tokio::net::TcpListener::bind(&admin_listen)
        .await
        .map_err(|e| Error::Other(format!("cannot listen on {admin_listen} (admin): {e}")))?;
    let public_addr = listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;
    if demo_mode {
        println!("{}", demo::credentials_banner());
    }
    println!(
        "Tỉnh số đang chạy tại / running at http://{public_addr} (admin/metrics: http://{admin_addr}/metrics; {} , started in {} ms)",
        platform.db.dialect().name(),
        started.elapsed().as_millis()
    );
    tracing::info!(%public_addr, %admin_addr, startup_ms = started.elapsed().as_millis() as u64, "listening");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let outbox_worker = tokio::spawn(tinhso_platform::outbox::run_dispatch(
        platform.clone(),
        outbox_dispatch(&platform.config)?,
        stop_rx.clone(),
        tinhso_platform::outbox::WorkerOptions::from_config(&platform.config.outbox),
    ));
    let admin_stop = {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.changed().await;
        }
    };
    let admin = tokio::spawn(tinhso_web::serve(
        admin_listener,
        tinhso_web::admin_app(state.clone()),
        admin_stop,
    ));
    let exchange = start_exchange(&platform, &stop_rx).await?;
    let shutdown = async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    tinhso_web::serve(listener, tinhso_web::app(state), shutdown).await?;
    let _ = admin.await;
    for task in exchange {
        let _ = task.await;
    }
    let _ = outbox_worker.await;
    platform.db.close().await;
    Ok(ExitCode::SUCCESS)
}

/// The exchange, when `exchange.enabled`: the federation listener (mutual TLS), the sending
/// worker and, with `exchange.national.enabled`, the national exchange's poller, all stopped
/// with the other listeners.
async fn start_exchange(
    platform: &Platform,
    stop_rx: &tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let c = &platform.config.exchange;
    if !c.enabled {
        return Ok(Vec::new());
    }
    // Fail at start-up, not in a background task, on unusable certificates.
    tinhso_exchange::tls::server_config(&c.tls_cert, &c.tls_key, &c.peer_ca)
        .map_err(|e| Error::Config(format!("exchange: {}: {e}", e.code())))?;
    let peer = tinhso_exchange::send::PeerTransport::from_config(platform)
        .map_err(|e| Error::Config(format!("exchange: {}: {e}", e.code())))?;
    let listener = tokio::net::TcpListener::bind(&c.listen)
        .await
        .map_err(|e| Error::Other(format!("cannot listen on {} (exchange): {e}", c.listen)))?;
    tracing::info!(addr = %c.listen, "exchange federation listening (mutual TLS)");
    let mut rx = stop_rx.clone();
    let server = tokio::spawn({
        let platform = platform.clone();
        async move {
            let stop = async move {
                let _ = rx.changed().await;
            };
            if let Err(e) = tinhso_web::exchange_peer::serve(platform, listener, stop).await {
                tracing::error!(error = %e, "exchange federation listener stopped");
            }
        }
    });
    let national = tinhso_exchange::national::NationalExchange::from_config(&c.national)
        .map_err(|e| Error::Config(format!("exchange.national: {}: {e}", e.code())))?
        .map(std::sync::Arc::new);
    let transports = tinhso_exchange::send::Transports {
        peer: std::sync::Arc::new(peer),
        national: national
            .clone()
            .map(|n| n as std::sync::Arc<dyn tinhso_exchange::transport::PackageTransport>),
    };
    let worker = tokio::spawn(tinhso_exchange::send::run(
        platform.clone(),
        transports,
        stop_rx.clone(),
    ));
    let mut tasks = vec![server, worker];
    if let Some(national) = national {
        tracing::info!(endpoint = %c.national.endpoint, "national exchange: sending and polling");
        tasks.push(tokio::spawn(tinhso_exchange::poll::run(
            platform.clone(),
            national,
            stop_rx.clone(),
        )));
    }
    Ok(tasks)
}

/// Who delivers what the outbox holds: citizen notifications always; the national portal's
/// sync only when its connector is enabled (otherwise its rows wait, untouched).
pub fn outbox_dispatch(config: &Config) -> Result<tinhso_platform::outbox::Dispatch> {
    use tinhso_platform::outbox::{CITIZEN_NOTIFICATION, Dispatch, NotifierHandler};
    let mut dispatch = Dispatch::new().route(
        CITIZEN_NOTIFICATION,
        std::sync::Arc::new(NotifierHandler(tinhso_platform::notifier::from_config(
            config,
        )?)),
    );
    if let Some(portal) = tinhso_platform::national_portal::from_config(config)? {
        dispatch = dispatch.route(
            tinhso_onestop::portal_sync::TOPIC,
            std::sync::Arc::new(tinhso_onestop::portal_sync::PortalSync::new(portal)),
        );
    }
    Ok(dispatch)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
