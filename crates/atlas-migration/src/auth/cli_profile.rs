//! [`Credentials::from_atlas_cli`]: the API key or service account an Atlas CLI profile
//! holds, read from the CLI's `config.toml` ("Save Connection Settings" in the Atlas CLI
//! docs: the file lives in `$XDG_CONFIG_HOME/atlascli`, else `$HOME/.config/atlascli`; on
//! macOS in `~/Library/Application Support/atlascli`, on Windows in `%AppData%\atlascli`).

use std::path::{Path, PathBuf};

use super::Credentials;
use crate::error::Error;

/// The largest config file read.
const MAX_CONFIG: u64 = 1024 * 1024;

/// A profile of the Atlas CLI's config file.
#[derive(Debug, Clone)]
struct CliProfile {
    path: Option<PathBuf>,
    profile: String,
}

impl Credentials {
    /// The credentials of the Atlas CLI profile `profile`, read now from the CLI's
    /// `config.toml` in its usual place ([`atlas_cli_config_path`](Self::atlas_cli_config_path)).
    /// A profile holds an API key (`public_api_key`, `private_api_key`) or a service account
    /// (`client_id`, `client_secret`); profiles that keep their secrets in the system
    /// keychain hold neither there and give an error saying so. The file is read off the
    /// async runtime's threads.
    ///
    /// As a provider, read anew whenever the client asks (so `atlas config set` rotations
    /// are picked up):
    ///
    /// ```no_run
    /// use atlas_migration::Credentials;
    ///
    /// let client = atlas_migration::Client::builder()
    ///     .credentials_provider(|| Credentials::from_atlas_cli("default"))
    ///     .build()?;
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub async fn from_atlas_cli(profile: impl Into<String>) -> Result<Self, Error> {
        CliProfile {
            path: None,
            profile: profile.into(),
        }
        .read_off_runtime()
        .await
    }

    /// [`from_atlas_cli`](Self::from_atlas_cli) with the config file at `path`.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), atlas_migration::Error> {
    /// let credentials = atlas_migration::Credentials::from_atlas_cli_file(
    ///     "/etc/my-service/atlascli.toml",
    ///     "default",
    /// )
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn from_atlas_cli_file(
        path: impl Into<PathBuf>,
        profile: impl Into<String>,
    ) -> Result<Self, Error> {
        CliProfile {
            path: Some(path.into()),
            profile: profile.into(),
        }
        .read_off_runtime()
        .await
    }

    /// Where the Atlas CLI keeps its config file on this system, if a home is known.
    ///
    /// ```
    /// if let Some(path) = atlas_migration::Credentials::atlas_cli_config_path() {
    ///     println!("{}", path.display());
    /// }
    /// ```
    pub fn atlas_cli_config_path() -> Option<PathBuf> {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = if cfg!(windows) {
            var("APPDATA")?
        } else if cfg!(target_os = "macos") {
            var("HOME")?.join("Library/Application Support")
        } else {
            var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|h| h.join(".config")))?
        };
        Some(dir.join("atlascli").join("config.toml"))
    }
}

impl CliProfile {
    async fn read_off_runtime(self) -> Result<Credentials, Error> {
        crate::tasks::blocking(move || self.read())
            .await
            .unwrap_or_else(|e| {
                Err(Error::invalid_input(
                    "Atlas CLI profile",
                    None,
                    e.to_string(),
                ))
            })
    }

    fn read(&self) -> Result<Credentials, Error> {
        let path = self
            .path
            .clone()
            .or_else(Credentials::atlas_cli_config_path)
            .ok_or_else(|| self.fail(None, "no home directory to find the Atlas CLI config in"))?;
        let text = read_capped(&path).map_err(|why| self.fail(Some(&path), &why))?;
        let table: toml::Table =
            toml::from_str(&text).map_err(|_| self.fail(Some(&path), "is not valid TOML"))?;
        let profile = table
            .get(&self.profile)
            .and_then(toml::Value::as_table)
            .ok_or_else(|| self.fail(Some(&path), "has no such profile"))?;
        let get = |key: &str| {
            profile
                .get(key)
                .and_then(toml::Value::as_str)
                .filter(|v| !v.trim().is_empty())
                .map(str::to_owned)
        };
        match (
            get("public_api_key"),
            get("private_api_key"),
            get("client_id"),
            get("client_secret"),
        ) {
            (Some(public), Some(private), _, _) => Ok(Credentials::api_key(public, private)),
            (_, _, Some(id), Some(secret)) => Ok(Credentials::service_account(id, secret)),
            _ => Err(self.fail(
                Some(&path),
                "holds neither public_api_key and private_api_key nor client_id and \
                 client_secret (the CLI may keep them in the system keychain)",
            )),
        }
    }

    /// An error naming the file and profile, never a value from the file.
    fn fail(&self, path: Option<&Path>, why: &str) -> Error {
        let at = path.map_or_else(String::new, |p| format!(" in {}", p.display()));
        Error::invalid_input(
            "Atlas CLI profile",
            Some(&self.profile),
            format!("{why}{at}"),
        )
    }
}

fn read_capped(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot be opened ({})", e.kind()))?;
    let mut text = String::new();
    file.take(MAX_CONFIG + 1)
        .read_to_string(&mut text)
        .map_err(|_| "cannot be read as text".to_owned())?;
    if text.len() as u64 > MAX_CONFIG {
        return Err(format!("is larger than {MAX_CONFIG} bytes"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: &Path, profile: &str) -> CliProfile {
        CliProfile {
            path: Some(path.to_owned()),
            profile: profile.to_owned(),
        }
    }

    fn file(text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "atlascli-{}-{}.toml",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn reads_an_api_key_or_a_service_account_profile() {
        let path = file(
            "[default]\n  public_api_key = \"pubkey\"\n  private_api_key = \"privkey-secret\"\n  org_id = \"x\"\n\n[robot]\n  client_id = \"mdb_sa_id_1\"\n  client_secret = \"mdb_sa_sk_2\"\n",
        );
        let key = at(&path, "default").read().unwrap();
        assert!(format!("{key:?}").contains("pubkey"));
        let account = at(&path, "robot").read().unwrap();
        assert!(format!("{account:?}").contains("mdb_sa_id_1"));
        std::fs::remove_file(path).unwrap();
    }

    #[tokio::test]
    async fn a_closure_over_a_profile_is_a_provider_reading_it_anew() {
        use crate::CredentialsProvider;
        let path = file("[default]\n  public_api_key = \"first\"\n  private_api_key = \"p\"\n");
        let provider = {
            let path = path.clone();
            move || Credentials::from_atlas_cli_file(path.clone(), "default")
        };
        let first = provider.credentials().await.unwrap();
        assert!(format!("{first:?}").contains("first"));
        std::fs::write(
            &path,
            "[default]\n  client_id = \"rotated\"\n  client_secret = \"s\"\n",
        )
        .unwrap();
        let second = provider.credentials().await.unwrap();
        assert!(format!("{second:?}").contains("rotated"));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn missing_profiles_keys_and_bad_files_are_errors_without_values() {
        let path = file("[default]\n  public_api_key = \"pubkey\"\n  service = \"cloud\"\n");
        for (profile, expected) in [("default", "holds neither"), ("other", "no such profile")] {
            let e = at(&path, profile).read().unwrap_err();
            assert!(
                e.is_invalid_input() && e.to_string().contains(expected),
                "{e}"
            );
            assert!(!e.to_string().contains("pubkey"), "{e}");
        }
        std::fs::write(&path, "not = [toml").unwrap();
        let e = at(&path, "default").read().unwrap_err();
        assert!(e.to_string().contains("not valid TOML"), "{e}");
        std::fs::remove_file(&path).unwrap();
        let e = at(&path, "default").read().unwrap_err();
        assert!(e.to_string().contains("cannot be opened"), "{e}");
    }
}
