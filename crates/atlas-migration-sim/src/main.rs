//! Serves the simulator on a port so that curl (or any client) can use it.
//!
//! The first stdout line is the base URL; the credentials follow.

use std::io::Write;

use atlas_migration_sim::{DigestAlgorithm, Simulator};
use clap::Parser;

/// Stateful fake of the Atlas Cloud Migration Service.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// API key public key to accept (random otherwise).
    #[arg(long)]
    public_key: Option<String>,
    /// API key private key to accept (random otherwise).
    #[arg(long)]
    private_key: Option<String>,
    /// Service account client id to accept (random otherwise).
    #[arg(long)]
    client_id: Option<String>,
    /// Service account client secret to accept (random otherwise).
    #[arg(long)]
    client_secret: Option<String>,
    /// Use SHA-256 instead of MD5 for digest authentication.
    #[arg(long)]
    sha256: bool,
    /// Seed for ids and generated credentials.
    #[arg(long)]
    seed: Option<u64>,
    /// Meter nothing (by default Atlas's documented rate limits apply).
    #[arg(long)]
    unmetered: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut builder = Simulator::builder().port(args.port);
    if let Some(v) = args.public_key {
        builder = builder.public_key(v);
    }
    if let Some(v) = args.private_key {
        builder = builder.private_key(v);
    }
    if let Some(v) = args.client_id {
        builder = builder.client_id(v);
    }
    if let Some(v) = args.client_secret {
        builder = builder.client_secret(v);
    }
    if let Some(seed) = args.seed {
        builder = builder.seed(seed);
    }
    if args.unmetered {
        builder = builder.unmetered();
    }
    if args.sha256 {
        builder = builder.digest_algorithm(DigestAlgorithm::Sha256);
    }
    let sim = builder.start().await?;
    let c = sim.credentials();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", sim.base_url())?;
    writeln!(out, "public key:    {}", c.public_key)?;
    writeln!(out, "private key:   {}", c.private_key)?;
    writeln!(out, "client id:     {}", c.client_id)?;
    writeln!(out, "client secret: {}", c.client_secret)?;
    writeln!(out, "org id:        {}", sim.org_id())?;
    writeln!(out, "group id:      {}", sim.group_id())?;
    writeln!(
        out,
        "try: curl --digest -u {}:{} -H 'Accept: application/vnd.atlas.2023-01-01+json' -X POST \
         -H 'Content-Type: application/vnd.atlas.2023-01-01+json' -d '{{}}' \
         {}/api/atlas/v2/orgs/{}/liveMigrations/linkTokens",
        c.public_key,
        c.private_key,
        sim.base_url(),
        sim.org_id()
    )?;
    out.flush()?;
    drop(out);
    tokio::signal::ctrl_c().await?;
    Ok(())
}
