//! The `aftercare` command: serve the API (the default), migrate, create a clinic, seed a demo,
//! print the OpenAPI document.

use std::io::Read;
use std::net::TcpListener;
use std::process::ExitCode;

use aftercare::config::Settings;
use aftercare::db::Database;
use aftercare::error::StartupError;
use aftercare::{Services, commands, prepare_database, routes, serve, telemetry};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "aftercare", version, about = "Recovery tracking API for microneedling aftercare")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API on BIND_ADDR (the default command).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage clinics.
    Clinic {
        #[command(subcommand)]
        action: ClinicAction,
    },
    /// Print the OpenAPI document (YAML).
    Openapi,
    /// Seed a demo clinic and print its logins.
    Demo,
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Recompute the hash chain of every audit event; exits 1 when it is broken.
    Verify,
}

#[derive(Subcommand)]
enum ClinicAction {
    /// Create a clinic and its first administrator; prints {"clinic_id", "admin_id"}.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        /// Read the admin password from standard input instead of AFTERCARE_ADMIN_PASSWORD.
        #[arg(long)]
        admin_password_stdin: bool,
    },
}

/// Password hashing allocates 19 MiB per hash. glibc would raise its mmap threshold after the first
/// such block is freed and from then on keep every one in a per-thread arena, so memory would grow
/// with the number of threads that ever hashed; a fixed threshold returns each block when freed.
fn keep_large_allocations_returnable() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> ExitCode {
    keep_large_allocations_returnable();
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("aftercare: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log_format);
    match run(cli.command.unwrap_or(Command::Serve), settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("aftercare: {err}");
            ExitCode::FAILURE
        }
    }
}

fn open_database(settings: &Settings) -> Result<Database, StartupError> {
    let db = Database::connect(&settings.database_url, 2)?;
    prepare_database(&db)?;
    Ok(db)
}

fn run(command: Command, settings: Settings) -> Result<(), StartupError> {
    match command {
        Command::Serve => serve_forever(settings),
        Command::Migrate => {
            let db = Database::connect(&settings.database_url, 1)?;
            let applied = db.migrate()?;
            println!("{}", serde_json::json!({ "applied": applied }));
            Ok(())
        }
        Command::Openapi => {
            print!("{}", routes::ApiSpec::new(&routes::openapi()).yaml);
            Ok(())
        }
        Command::Audit { action: AuditAction::Verify } => {
            let db = Database::connect(&settings.database_url, 1)?;
            let mut conn = db.connection()?;
            let key = aftercare::models::audit::key::AuditKey::for_verify(&settings)?;
            let checkpoints = aftercare::models::audit::checkpoint::path(&settings);
            let verification = aftercare::models::audit::verify(&mut conn, &key, &checkpoints)
                .map_err(|e| StartupError::Database(e.to_string()))?;
            println!("{}", serde_json::to_string(&verification).unwrap_or_default());
            if verification.ok { Ok(()) } else { Err(StartupError::Database("the audit chain is broken".into())) }
        }
        Command::Demo => {
            let seeded = commands::seed_demo(&open_database(&settings)?)?;
            println!("{seeded}");
            Ok(())
        }
        Command::Clinic { action: ClinicAction::Create { name, admin_email, admin_password_stdin } } => {
            let password = if admin_password_stdin {
                let mut input = String::new();
                std::io::stdin().read_to_string(&mut input)?;
                input.trim_end_matches(['\r', '\n']).to_string()
            } else {
                std::env::var("AFTERCARE_ADMIN_PASSWORD").map_err(|_| {
                    StartupError::Config("set AFTERCARE_ADMIN_PASSWORD or pass --admin-password-stdin".into())
                })?
            };
            let created = commands::create_clinic(&open_database(&settings)?, &name, &admin_email, &password)?;
            println!("{created}");
            Ok(())
        }
    }
}

fn serve_forever(settings: Settings) -> Result<(), StartupError> {
    let bind_addr = settings.bind_addr.clone();
    tracing::info!(settings = ?settings, "starting");
    let services = Services::start(settings)?;
    let listener = TcpListener::bind(&bind_addr)?;
    tracing::info!(address = %listener.local_addr()?, "serving");
    let audit = services.state.audit.clone();
    actix_web::rt::System::new().block_on(async move { serve(services, listener)?.await })?;
    audit.flush();
    tracing::info!("stopped");
    Ok(())
}
