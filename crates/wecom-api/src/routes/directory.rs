//! Corps, rooms and people. A reviewer sees the rooms whose conversation it may see and the
//! people of its scope.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use wecom_store::blocking;
use wecom_views::{PersonView, RoomView};

use crate::access::{Caller, Visibility, corp, corps_of, visibility};
use crate::extract::ApiQuery;
use crate::routes::page_limit;
use crate::{ApiError, ApiState, CorpView, ErrorBody, ListParams, PeopleList, RoomList};

/// Rooms read per batch while filtering them for a reviewer.
const BATCH: usize = 500;

/// The corps the caller may use.
#[utoipa::path(get, path = "/api/v1/corps", tag = "directory",
    responses((status = 200, body = Vec<CorpView>), (status = 401, body = ErrorBody)))]
pub(crate) async fn corps(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Json<Vec<CorpView>> {
    Json(
        corps_of(&state, &caller)
            .into_iter()
            .map(|c| CorpView {
                corp_id: c.corp_id.clone(),
                search: c.search.is_some(),
                media: c.blobs.is_some(),
            })
            .collect(),
    )
}

/// Rooms: named ones by name, then the others.
#[utoipa::path(get, path = "/api/v1/rooms", tag = "directory",
    params(ListParams),
    responses((status = 200, body = RoomList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn rooms(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Json<RoomList>, ApiError> {
    let corp = corp(&state, &caller, q.corp.as_deref())?;
    let limit = page_limit(q.limit, 50, 200)?;
    let offset = q.offset.unwrap_or(0);
    let visible = visibility(&state, &caller, corp).await?;
    let (reader, corp_id) = (corp.reader.clone(), corp.corp_id.clone());
    let mut rooms = blocking(move || match &visible {
        Visibility::All => wecom_views::rooms(reader.as_ref(), &corp_id, limit + 1, offset),
        Visibility::Within(_) => {
            let keys: HashSet<String> = visible
                .conversations(reader.as_ref(), &corp_id)?
                .map(|c| {
                    c.iter()
                        .filter(|k| k.starts_with("room:"))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let mut seen = 0usize;
            let mut out: Vec<RoomView> = Vec::new();
            let mut at = 0usize;
            loop {
                let batch = wecom_views::rooms(reader.as_ref(), &corp_id, BATCH, at)?;
                let n = batch.len();
                for room in batch {
                    if keys.contains(&format!("room:{}", room.roomid)) {
                        if seen >= offset && out.len() <= limit {
                            out.push(room);
                        }
                        seen += 1;
                    }
                }
                if n < BATCH || out.len() > limit {
                    break;
                }
                at += BATCH;
            }
            Ok(out)
        }
    })
    .await?;
    let more = rooms.len() > limit;
    rooms.truncate(limit);
    Ok(Json(RoomList {
        rooms,
        next_offset: more.then(|| (offset + limit) as u64),
    }))
}

/// People (employees, external contacts, robots): named ones by name, then the others.
#[utoipa::path(get, path = "/api/v1/people", tag = "directory",
    params(ListParams),
    responses((status = 200, body = PeopleList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn people(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Json<PeopleList>, ApiError> {
    let corp = corp(&state, &caller, q.corp.as_deref())?;
    let limit = page_limit(q.limit, 50, 200)?;
    let offset = q.offset.unwrap_or(0);
    let visible = visibility(&state, &caller, corp).await?;
    let (reader, corp_id) = (corp.reader.clone(), corp.corp_id.clone());
    let mut people = blocking(move || match &visible {
        Visibility::All => wecom_views::people(reader.as_ref(), &corp_id, limit + 1, offset),
        Visibility::Within(scope) => {
            let mut out = Vec::new();
            for id in scope.ids.iter().skip(offset).take(limit + 1) {
                if let Some(p) = reader.person(&corp_id, id)? {
                    out.push(PersonView::from(&p));
                }
            }
            Ok(out)
        }
    })
    .await?;
    let more = people.len() > limit;
    people.truncate(limit);
    Ok(Json(PeopleList {
        people,
        next_offset: more.then(|| (offset + limit) as u64),
    }))
}
