//! Files on a case. The row is stored first, then the `attach` command records it on the trail;
//! a row whose command failed is never listed (lists join the trail's events), so a crash between
//! the two leaves an unreferenced file, not a reference to a missing one.

use sqlx::Row;

use crate::{Store, StoreError};

#[derive(Debug, Clone, serde::Serialize)]
pub struct AttachmentMeta {
    pub id: String,
    pub case_id: String,
    pub name: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
    pub has_thumbnail: bool,
    pub uploaded_by: String,
    pub at_ms: i64,
}

pub struct NewAttachment {
    pub meta: AttachmentMeta,
    pub data: Vec<u8>,
    pub thumbnail: Option<Vec<u8>>,
}

impl Store {
    pub async fn insert_attachment(&self, a: &NewAttachment) -> Result<(), StoreError> {
        let m = &a.meta;
        sqlx::query(
            "INSERT INTO attachments (id, case_id, name, mime, size, sha256, uploaded_by, at, data, thumbnail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&m.id)
        .bind(&m.case_id)
        .bind(&m.name)
        .bind(&m.mime)
        .bind(m.size)
        .bind(&m.sha256)
        .bind(&m.uploaded_by)
        .bind(m.at_ms)
        .bind(&a.data)
        .bind(a.thumbnail.as_deref())
        .execute(&self.read)
        .await?;
        Ok(())
    }

    /// The case's files that its trail records, oldest first.
    pub async fn attachments(&self, case_id: &str) -> Result<Vec<AttachmentMeta>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, case_id, name, mime, size, sha256, thumbnail IS NOT NULL, uploaded_by, at \
             FROM attachments WHERE case_id = $1 ORDER BY at, id",
        )
        .bind(case_id)
        .fetch_all(&self.read)
        .await?;
        let recorded: Vec<String> = sqlx::query_scalar(
            "SELECT data FROM case_events WHERE case_id = $1 AND type = 'attachment_added'",
        )
        .bind(case_id)
        .fetch_all(&self.read)
        .await?;
        let recorded: Vec<String> = recorded
            .iter()
            .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .filter_map(|v| v["attachment"].as_str().map(str::to_string))
            .collect();
        let mut out = Vec::new();
        for r in rows {
            let m = meta(&r)?;
            if recorded.contains(&m.id) {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// One file's record and its bytes (`thumbnail`: the thumbnail's instead).
    pub async fn attachment_bytes(
        &self,
        id: &str,
        thumbnail: bool,
    ) -> Result<Option<(AttachmentMeta, Vec<u8>)>, StoreError> {
        let col = if thumbnail { "thumbnail" } else { "data" };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, case_id, name, mime, size, sha256, thumbnail IS NOT NULL, uploaded_by, at, {col} \
             FROM attachments WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let bytes: Option<Vec<u8>> = r.try_get(9)?;
        match bytes {
            None => Ok(None),
            Some(b) => Ok(Some((meta(&r)?, b))),
        }
    }
}

fn meta(r: &sqlx::any::AnyRow) -> Result<AttachmentMeta, StoreError> {
    let thumb: bool = match r.try_get::<bool, _>(6) {
        Ok(b) => b,
        Err(_) => r.try_get::<i64, _>(6)? != 0,
    };
    Ok(AttachmentMeta {
        id: r.try_get(0)?,
        case_id: r.try_get(1)?,
        name: r.try_get(2)?,
        mime: r.try_get(3)?,
        size: r.try_get(4)?,
        sha256: r.try_get(5)?,
        has_thumbnail: thumb,
        uploaded_by: r.try_get(7)?,
        at_ms: r.try_get(8)?,
    })
}
