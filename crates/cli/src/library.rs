//! `kyso library import|export`: the catalogue's MARC21 files at the command line, through the
//! same `kyso-library` functions (and the same access rule) as the REST API and the pages.

use super::*;
use crate::args::{LibraryArgs, MarcFormat};
use kyso_library::marc::Format;

async fn open(at: &LibraryArgs) -> Result<(kyso_store::Store, kyso_org::Actor, kyso_library::Library)> {
    let url = at.database_url.clone().unwrap_or_else(|| default_database(&at.data_dir));
    let db = kyso_store::Db::connect(&url, std::sync::Arc::new(clock::SystemClock))
        .await
        .with_context(|| format!("database {}", kyso_store::redact(&url)))?;
    let blobs = kyso_store::BlobStore::open(at.data_dir.join("blobs")).with_context(|| format!("data folder {}", at.data_dir.display()))?;
    let store = kyso_store::Store { db, blobs, cpu: kyso_store::CpuQueue::new(1, 4) };
    let person =
        kyso_org::people::by_username(&store, &at.user).await?.ok_or_else(|| anyhow!("no person has the username {:?}", at.user))?;
    let actor = kyso_org::Actor {
        principal: kyso_org::Principal::User { id: person.id, username: person.username, full_name: person.full_name },
        memberships: person.memberships,
    };
    let library = kyso_library::access::managed(&store, &actor, at.library.as_deref()).await?;
    Ok((store, actor, library))
}

pub(crate) fn import(file: &Path, at: &LibraryArgs) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    runtime()?.block_on(async {
        let (store, actor, library) = open(at).await?;
        let report = kyso_library::catalogue::import(&store, &actor, &library, &bytes, Format::sniff(&bytes)).await?;
        println!("{}", serde_json::json!({"added": report.added, "duplicates": report.duplicates, "refused": report.refused}));
        eprintln!(
            "{}: {} added, {} duplicates, {} refused into {}",
            file.display(),
            report.added,
            report.duplicates,
            report.refused.len(),
            library.name
        );
        Ok(())
    })
}

pub(crate) fn export(output: &Path, format: MarcFormat, at: &LibraryArgs) -> Result<()> {
    let format = match format {
        MarcFormat::Iso2709 => Format::Iso2709,
        MarcFormat::Marcxml => Format::MarcXml,
    };
    let bytes = runtime()?.block_on(async {
        let (store, _, library) = open(at).await?;
        Ok::<_, anyhow::Error>(kyso_library::catalogue::export(&store, &library, format).await?)
    })?;
    write_atomically(output, |f| Ok(f.write_all(&bytes)?))
}
