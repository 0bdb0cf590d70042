//! The API of issue 7 against a tiny hand-made city: who may call what (the role matrix of
//! every endpoint), a topic's way from proposal to consultation through the API, and every kind
//! of bad input answered with a 4xx JSON error naming the field.

// Helpers outside `#[test]` functions unwrap too: a test may panic on what it set up itself.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use consult::access::{Credential, Scope, TokenRole};
use consult::ids::*;
use consult::notice::{MessageType, NoticeDraft, Urgency};
use consult::place::*;
use consult::procedure::Step;
use consult::record::{Actor, ActorRole};
use consult::time::Timestamp;
use consult::topic::{Category, Session, StepDetails, TopicDraft};
use consult::vote::{Ballot, EligibleArea, VotingWindow};
use server::api::limits::RateLimit;
use store::{IngestBody, IngestConfig, IngestMemory, IngestMessage, Store};
use tower::ServiceExt;

mod common;

const T0: i64 = 1_795_000_000;

fn card(n: i64) -> CardId {
    common::card_id(n)
}

fn actor(role: ActorRole) -> Actor {
    Actor {
        role,
        name: "测试".into(),
    }
}

/// Who calls: no token, an unknown token, or one of the tokens [`city`] creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Nobody,
    BadToken,
    /// Convener of room 1 (community 1).
    Convener,
    /// Overseer of room 1.
    Overseer,
    /// Grid worker of grid 1 (community 1).
    GridWorker,
    Moderator,
    Operator,
    /// Convener of room 2 (community 2).
    OtherConvener,
    /// Grid worker of grid 3 (community 2).
    OtherGridWorker,
}

const EVERYONE: [Who; 9] = [
    Who::Nobody,
    Who::BadToken,
    Who::Convener,
    Who::Overseer,
    Who::GridWorker,
    Who::Moderator,
    Who::Operator,
    Who::OtherConvener,
    Who::OtherGridWorker,
];

impl Who {
    fn token(self) -> Option<&'static str> {
        match self {
            Who::Nobody => None,
            Who::BadToken => Some("sy_not_a_token"),
            Who::Convener => Some("sy_convener_1"),
            Who::Overseer => Some("sy_overseer_1"),
            Who::GridWorker => Some("sy_grid_worker_1"),
            Who::Moderator => Some("sy_moderator"),
            Who::Operator => Some("sy_operator"),
            Who::OtherConvener => Some("sy_convener_2"),
            Who::OtherGridWorker => Some("sy_grid_worker_3"),
        }
    }
}

/// What [`city`] made.
#[derive(Clone, Copy)]
struct Fixture {
    proposed: TopicId,
    research: TopicId,
    consultation: TopicId,
    implementing: TopicId,
    comment: CommentId,
    notice: NoticeId,
}

/// The shared tiny city (`common`), with a second card (11) for household 1. Topics of room 1 in four stages, a pending comment
/// on the one in consultation, and a notice to grid 1 that households 1 and 2 saw (household 1
/// on two boxes).
fn city(store: &mut Store) -> Fixture {
    let mut l = store.load_city().unwrap();
    common::places(&mut l);
    l.set_top_box(&SetTopBox {
        card: card(11),
        household: HouseholdId(1),
    })
    .unwrap();
    l.commit().unwrap();

    let at = Timestamp(T0);
    let tokens = [
        (
            Who::Convener,
            TokenRole::Convener,
            Scope::Room { room: RoomId(1) },
        ),
        (
            Who::Overseer,
            TokenRole::Overseer,
            Scope::Room { room: RoomId(1) },
        ),
        (
            Who::OtherConvener,
            TokenRole::Convener,
            Scope::Room { room: RoomId(2) },
        ),
        (
            Who::GridWorker,
            TokenRole::GridWorker,
            Scope::Grids {
                community: CommunityId(1),
                grids: vec![GridId(1)],
            },
        ),
        (
            Who::OtherGridWorker,
            TokenRole::GridWorker,
            Scope::Grids {
                community: CommunityId(2),
                grids: vec![GridId(3)],
            },
        ),
        (Who::Moderator, TokenRole::Moderator, Scope::City),
        (Who::Operator, TokenRole::Operator, Scope::City),
    ];
    for (who, role, scope) in tokens {
        let credential = Credential {
            role,
            scope,
            name: format!("{who:?}"),
        };
        store
            .create_token(who.token().unwrap(), &credential, at)
            .unwrap();
    }

    let proposed = topic(store, &[]);
    let research = topic(store, &[Step::Confirm, Step::BeginResearch]);
    let consultation = topic(
        store,
        &[Step::Confirm, Step::BeginResearch, Step::OpenConsultation],
    );
    let implementing = topic(
        store,
        &[
            Step::Confirm,
            Step::BeginResearch,
            Step::OpenConsultation,
            Step::DraftConsensus,
            Step::Report,
            Step::Approve,
            Step::StartImplementation,
        ],
    );
    let comment = store
        .submit_comment(
            consultation,
            &card(3),
            "支持，早该建了。",
            Timestamp(T0 + 200),
            Timestamp(T0 + 200),
        )
        .unwrap();
    let notice = store
        .push_notice(
            NoticeDraft {
                community: CommunityId(1),
                grids: vec![GridId(1)],
                title: "停水通知".into(),
                body: "明日9时至12时停水。".into(),
                urgency: Urgency::Urgent,
                message_type: MessageType::Alert,
                references: None,
                valid_from: Timestamp(T0),
                valid_until: Timestamp(T0 + 86_400),
            },
            "李芳",
            &[GridId(1)],
            Timestamp(T0),
        )
        .unwrap()
        .id;
    let seen: Vec<IngestMessage> = [(1, 1), (11, 1), (2, 1), (1, 2)]
        .into_iter()
        .map(|(c, seq)| IngestMessage {
            card: card(c),
            seq,
            sent_at: Timestamp(T0 + 300),
            tag: [c as u8 * 16 + seq as u8; 32],
            verified: true,
            body: IngestBody::NoticeSeen {
                notice_id: notice.0,
            },
        })
        .collect();
    store
        .ingest(
            &mut IngestMemory::default(),
            &seen,
            Timestamp(T0 + 300),
            &IngestConfig::default(),
        )
        .unwrap();
    Fixture {
        proposed,
        research,
        consultation,
        implementing,
        comment,
        notice,
    }
}

/// A topic of room 1 taken through `steps`.
fn topic(store: &mut Store, steps: &[Step]) -> TopicId {
    let draft = TopicDraft {
        room: RoomId(1),
        title: "电动自行车充电桩建设".into(),
        summary: "在东门内侧建设充电车棚。".into(),
        category: Category::EvCharging,
        eligible: EligibleArea::Community {
            community: CommunityId(1),
        },
        ballot: Ballot::approve_oppose_abstain(),
    };
    let id = store
        .propose_topic(draft, Timestamp(T0), actor(ActorRole::Convener))
        .unwrap()
        .id;
    for (n, step) in steps.iter().enumerate() {
        let details = match step {
            Step::OpenConsultation => StepDetails {
                session: Some(Session {
                    starts_at: Timestamp(T0 + 500),
                    place: "议事厅".into(),
                }),
                voting: Some(VotingWindow {
                    opens_at: Timestamp(T0 + 100),
                    closes_at: Timestamp(T0 + 10_000),
                }),
                ..StepDetails::default()
            },
            Step::DraftConsensus => StepDetails {
                consensus: Some("建设充电车棚。".into()),
                ..StepDetails::default()
            },
            _ => StepDetails::default(),
        };
        let who = match step {
            Step::Confirm | Step::Approve => ActorRole::Overseer,
            _ => ActorRole::Convener,
        };
        store
            .take_step(
                id,
                *step,
                Timestamp(T0 + 10 + n as i64),
                actor(who),
                "好",
                details,
            )
            .unwrap();
    }
    id
}

struct Api {
    app: axum::Router,
    f: Fixture,
    /// The (empty) bundles directory the operators' endpoints read.
    _bundles: Option<tempfile::TempDir>,
    /// The live rebuild queue, never run: marks just wait in it.
    _queue: Option<server::live::LiveQueue>,
}

impl Api {
    fn new() -> Api {
        Api::with_limit(RateLimit::default())
    }

    fn with_limit(limit: RateLimit) -> Api {
        let mut store = Store::open_in_memory().unwrap();
        let f = city(&mut store);
        let bundles = tempfile::tempdir().unwrap();
        let (templates_dir, assets_dir) = templates_and_assets();
        let (live, queue) = server::live::queue();
        let state = server::AppState::new(store)
            .with_rate_limit(limit)
            .with_live(live)
            .with_bundles(server::BundlePaths {
                bundles_dir: bundles.path().to_path_buf(),
                templates_dir,
                assets_dir,
            });
        Api {
            app: server::router(state),
            f,
            _bundles: Some(bundles),
            _queue: Some(queue),
        }
    }

    /// Calls the API; the answer's status, headers and body (JSON when it is JSON).
    async fn call(
        &self,
        method: &str,
        path: &str,
        who: Who,
        body: Option<&str>,
    ) -> (StatusCode, HeaderMap, serde_json::Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = who.token() {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_owned())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
        });
        (status, headers, value)
    }
}

/// Asserts an error answer: its status, its code, and words its message must contain.
fn assert_error(
    answer: &(StatusCode, HeaderMap, serde_json::Value),
    status: StatusCode,
    code: &str,
    words: &[&str],
) {
    let (got, _, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    for word in words {
        assert!(message.contains(word), "{message:?} should name {word:?}");
    }
}

fn session_body(step: &str) -> String {
    format!(
        r#"{{"step":"{step}","note":"定于周六协商","session":{{"starts_at":"2026-12-05T19:30:00+08:00","place":"议事厅"}},"voting":{{"opens_at":"2026-12-01T08:00:00+08:00","closes_at":"2026-12-06T20:00:00+08:00"}}}}"#
    )
}

const PROPOSAL: &str = r#"{"title":"加装电梯","summary":"3号楼加装电梯。","category":"elevators","eligible":{"kind":"grids","community":1,"grids":[1]}}"#;

const NOTICE: &str = r#"{"grids":[1],"title":"停电通知","body":"明日停电。","urgency":"urgent","valid_until":"2027-01-01T00:00:00+08:00"}"#;

/// One row of the role matrix: a request and who may make it.
struct Row {
    method: &'static str,
    path: String,
    body: Option<String>,
    /// Who gets a 2xx; everyone else gets 401 (no or a bad token) or 403...
    allowed: &'static [Who],
    /// ...except these, whose token may call but whose request is wrong for their scope.
    except: &'static [(Who, StatusCode)],
}

const PUBLIC: &[Who] = &EVERYONE;

fn matrix(f: &Fixture) -> Vec<Row> {
    let row = |method, path: String, body: Option<&str>, allowed| Row {
        method,
        path,
        body: body.map(str::to_owned),
        allowed,
        except: &[],
    };
    let t = |id: TopicId, rest: &str| format!("/api/v1/topics/{}{rest}", id.0);
    vec![
        Row {
            // A convener of room 2 proposes in room 2, where community 1's grids are no area.
            except: &[(Who::OtherConvener, StatusCode::BAD_REQUEST)],
            ..row(
                "POST",
                "/api/v1/topics".into(),
                Some(PROPOSAL),
                &[Who::Convener],
            )
        },
        row(
            "POST",
            t(f.proposed, "/steps"),
            Some(r#"{"step":"confirm","note":"同意列入"}"#),
            &[Who::Overseer],
        ),
        row(
            "POST",
            t(f.research, "/steps"),
            Some(&session_body("open_consultation")),
            &[Who::Convener],
        ),
        row(
            "POST",
            t(f.research, "/findings"),
            Some(r#"{"title":"入户调查","text":"78户中65户支持。","materials":["问卷.pdf"]}"#),
            &[Who::Convener],
        ),
        row(
            "POST",
            t(f.consultation, "/minutes"),
            Some(r#"{"text":"会议纪要"}"#),
            &[Who::Convener],
        ),
        row(
            "POST",
            t(f.implementing, "/progress"),
            Some(r#"{"percent":40,"text":"车棚基础完工"}"#),
            &[Who::Convener],
        ),
        row(
            "GET",
            "/api/v1/comments?state=pending".into(),
            None,
            &[Who::Moderator],
        ),
        row(
            "POST",
            format!("/api/v1/comments/{}/decision", f.comment.0),
            Some(r#"{"decision":"accept"}"#),
            &[Who::Moderator],
        ),
        row(
            "POST",
            "/api/v1/notices".into(),
            Some(NOTICE),
            &[Who::GridWorker],
        ),
        row(
            "GET",
            format!("/api/v1/notices/{}", f.notice.0),
            None,
            &[Who::GridWorker],
        ),
        row("GET", "/api/v1/topics".into(), None, PUBLIC),
        row("GET", t(f.consultation, ""), None, PUBLIC),
        row("GET", t(f.consultation, "/record"), None, PUBLIC),
        row("GET", t(f.consultation, "/record.xml"), None, PUBLIC),
        row("GET", t(f.consultation, "/report.html"), None, PUBLIC),
        row("GET", t(f.consultation, "/record/verify"), None, PUBLIC),
        row("GET", "/api/openapi.json".into(), None, PUBLIC),
        row("GET", "/api/v1/bundles".into(), None, &[Who::Operator]),
        row(
            "POST",
            "/api/v1/bundles/1/rebuild".into(),
            None,
            &[Who::Operator],
        ),
        row(
            "GET",
            "/api/v1/carousel?bitrate=2M".into(),
            None,
            &[Who::Operator],
        ),
    ]
}

#[tokio::test]
async fn the_role_matrix_of_every_endpoint() {
    let rows = matrix(&Api::new().f);
    let mut failures = Vec::new();
    for row in &rows {
        for who in EVERYONE {
            // A fresh city for every cell: an allowed write must not change the next cell.
            let api = Api::new();
            let (status, _, body) = api
                .call(row.method, &row.path, who, row.body.as_deref())
                .await;
            let except = row.except.iter().find(|(w, _)| *w == who);
            let expected = if let Some((_, status)) = except {
                Some((*status, "bad_request"))
            } else if row.allowed.contains(&who) {
                None
            } else if matches!(who, Who::Nobody | Who::BadToken) {
                Some((StatusCode::UNAUTHORIZED, "unauthorized"))
            } else {
                Some((StatusCode::FORBIDDEN, "forbidden"))
            };
            let ok = match expected {
                None => status.is_success(),
                Some((want, code)) => status == want && body["error"]["code"] == code,
            };
            if !ok {
                failures.push(format!(
                    "{} {} as {who:?}: got {status} {body}, expected {}",
                    row.method,
                    row.path,
                    expected.map_or("2xx".into(), |(s, _)| s.to_string())
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_convener_takes_a_topic_from_proposal_to_consultation() {
    let api = Api::new();
    let (status, _, body) = api
        .call("POST", "/api/v1/topics", Who::Convener, Some(PROPOSAL))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["topic"]["stage"], "proposed");
    let id = body["topic"]["id"].as_i64().unwrap();
    let steps = format!("/api/v1/topics/{id}/steps");

    // Research before confirmation is refused, naming the stage and what is allowed.
    let answer = api
        .call(
            "POST",
            &steps,
            Who::Convener,
            Some(r#"{"step":"begin_research"}"#),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::CONFLICT,
        "illegal_step",
        &["proposed", "confirm, reject, withdraw"],
    );

    let (status, _, body) = api
        .call(
            "POST",
            &steps,
            Who::Overseer,
            Some(r#"{"step":"confirm","note":"同意列入"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["topic"]["stage"], "confirmed");
    let (status, _, body) = api
        .call(
            "POST",
            &steps,
            Who::Convener,
            Some(r#"{"step":"begin_research"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["topic"]["stage"], "research");
    let (status, _, body) = api
        .call(
            "POST",
            &format!("/api/v1/topics/{id}/findings"),
            Who::Convener,
            Some(r#"{"title":"入户调查","text":"多数住户支持。"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _, body) = api
        .call(
            "POST",
            &steps,
            Who::Convener,
            Some(&session_body("open_consultation")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["topic"]["stage"], "consultation");

    // The record says who did what, and verifies.
    let (_, _, record) = api
        .call(
            "GET",
            &format!("/api/v1/topics/{id}/record"),
            Who::Nobody,
            None,
        )
        .await;
    let actors: Vec<(String, String)> = record["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"]["role"].as_str().unwrap().to_owned(),
                e["actor"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(actors.len(), 5);
    assert_eq!(actors[0], ("convener".into(), "Convener".into()));
    assert_eq!(actors[1], ("overseer".into(), "Overseer".into()));
    let (_, _, verify) = api
        .call(
            "GET",
            &format!("/api/v1/topics/{id}/record/verify"),
            Who::Nobody,
            None,
        )
        .await;
    assert!(verify["error"].is_null(), "{verify}");
    let (status, headers, html) = api
        .call(
            "GET",
            &format!("/api/v1/topics/{id}/report.html"),
            Who::Nobody,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.as_str().unwrap().contains("加装电梯"));
    let (_, headers, xml) = api
        .call(
            "GET",
            &format!("/api/v1/topics/{id}/record.xml"),
            Who::Nobody,
            None,
        )
        .await;
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    assert!(xml.as_str().unwrap().starts_with("<?xml"));
}

#[tokio::test]
async fn a_grid_worker_cannot_touch_another_grid() {
    let api = Api::new();
    let other = NOTICE.replace(r#""grids":[1]"#, r#""grids":[2]"#);
    let answer = api
        .call("POST", "/api/v1/notices", Who::GridWorker, Some(&other))
        .await;
    assert_error(&answer, StatusCode::FORBIDDEN, "forbidden", &["grid 2"]);
    let elsewhere = NOTICE.replace(r#""grids":[1]"#, r#""grids":[3]"#);
    let answer = api
        .call("POST", "/api/v1/notices", Who::GridWorker, Some(&elsewhere))
        .await;
    assert_error(&answer, StatusCode::FORBIDDEN, "forbidden", &["grid 3"]);
    let answer = api
        .call(
            "POST",
            "/api/v1/notices",
            Who::OtherGridWorker,
            Some(NOTICE),
        )
        .await;
    assert_error(&answer, StatusCode::FORBIDDEN, "forbidden", &["grid 1"]);
    // Nor cancel a notice of another community's grids.
    let cancel = format!(
        r#"{{"grids":[3],"title":"取消","body":"取消停水。","message_type":"cancel","references":{},"valid_until":"2027-01-01T00:00:00+08:00"}}"#,
        api.f.notice.0
    );
    let answer = api
        .call(
            "POST",
            "/api/v1/notices",
            Who::OtherGridWorker,
            Some(&cancel),
        )
        .await;
    assert_eq!(answer.0, StatusCode::FORBIDDEN, "{}", answer.2);
    let answer = api
        .call(
            "GET",
            &format!("/api/v1/notices/{}", api.f.notice.0),
            Who::OtherGridWorker,
            None,
        )
        .await;
    assert_error(&answer, StatusCode::FORBIDDEN, "forbidden", &[]);
}

#[tokio::test]
async fn a_notice_is_pushed_updated_and_cancelled_and_shows_its_reach() {
    let api = Api::new();
    let (status, _, body) = api
        .call(
            "GET",
            &format!("/api/v1/notices/{}", api.f.notice.0),
            Who::GridWorker,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Households 1 (two boxes, one of them twice) and 2 saw it, of the 2 in grid 1.
    assert_eq!(body["reach"]["households"], 2, "{body}");
    assert_eq!(body["reach"]["boxes"], 3, "{body}");
    assert_eq!(body["reach"]["of_households"], 2, "{body}");

    let (status, _, body) = api
        .call("POST", "/api/v1/notices", Who::GridWorker, Some(NOTICE))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["notice"]["id"].as_i64().unwrap();
    assert_eq!(body["notice"]["community"], 1);
    let update = format!(
        r#"{{"grids":[1],"title":"停电通知（更正）","body":"后天停电。","message_type":"update","references":{id},"valid_until":"2027-01-01T00:00:00+08:00"}}"#
    );
    let (status, _, body) = api
        .call("POST", "/api/v1/notices", Who::GridWorker, Some(&update))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let cancel = update
        .replace(r#""update""#, r#""cancel""#)
        .replace(&format!(":{id}"), &format!(":{}", body["notice"]["id"]));
    let (status, _, body) = api
        .call("POST", "/api/v1/notices", Who::GridWorker, Some(&cancel))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let missing = update.replace(&format!(":{id}"), ":999");
    let answer = api
        .call("POST", "/api/v1/notices", Who::GridWorker, Some(&missing))
        .await;
    assert_error(
        &answer,
        StatusCode::BAD_REQUEST,
        "bad_request",
        &["references"],
    );
}

#[tokio::test]
async fn a_moderator_works_the_comment_queue() {
    let api = Api::new();
    let (status, _, body) = api
        .call(
            "GET",
            "/api/v1/comments?state=pending",
            Who::Moderator,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["comments"].as_array().unwrap().len(), 1, "{body}");
    let decision = format!("/api/v1/comments/{}/decision", api.f.comment.0);
    let answer = api
        .call(
            "POST",
            &decision,
            Who::Moderator,
            Some(r#"{"decision":"reject"}"#),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", &["reason"]);
    let (status, _, body) = api
        .call(
            "POST",
            &decision,
            Who::Moderator,
            Some(r#"{"decision":"reject","reason":"广告"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer = api
        .call(
            "POST",
            &decision,
            Who::Moderator,
            Some(r#"{"decision":"accept"}"#),
        )
        .await;
    assert_error(&answer, StatusCode::CONFLICT, "conflict", &["already"]);
    let (_, _, body) = api
        .call(
            "GET",
            "/api/v1/comments?state=pending",
            Who::Moderator,
            None,
        )
        .await;
    assert_eq!(body["comments"].as_array().unwrap().len(), 0);
    let answer = api
        .call("GET", "/api/v1/comments?state=gone", Who::Moderator, None)
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", &["state"]);
    let answer = api
        .call(
            "POST",
            "/api/v1/comments/999/decision",
            Who::Moderator,
            Some(r#"{"decision":"accept"}"#),
        )
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "not_found", &["999"]);
}

#[tokio::test]
async fn bad_bodies_are_refused_naming_the_field() {
    let api = Api::new();
    let cases: &[(&str, &[&str])] = &[
        (r#"{"title":"加装电梯""#, &["JSON"]),
        ("[]", &["body"]),
        (
            &PROPOSAL.replace(r#""title""#, r#""colour":"red","title""#),
            &["colour"],
        ),
        (&PROPOSAL.replace(r#""加装电梯""#, "42"), &["title"]),
        (
            &PROPOSAL.replace(r#""elevators""#, r#""rockets""#),
            &["category", "rockets"],
        ),
        (
            &PROPOSAL.replace(r#""grids":[1]"#, r#""grids":["one"]"#),
            &["eligible", "\"one\""],
        ),
        (
            &PROPOSAL.replace(r#""kind":"grids""#, r#""kind":"city""#),
            &["eligible", "city"],
        ),
        (
            &PROPOSAL.replace(r#","category":"elevators""#, ""),
            &["category"],
        ),
        (
            &PROPOSAL.replace(r#""加装电梯""#, &format!("\"{}\"", "长".repeat(41))),
            &["title"],
        ),
    ];
    for (body, words) in cases {
        let answer = api
            .call("POST", "/api/v1/topics", Who::Convener, Some(body))
            .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", words);
    }
    let steps = format!("/api/v1/topics/{}/steps", api.f.research.0);
    let step_cases: &[(String, &[&str])] = &[
        (r#"{"step":"fly"}"#.into(), &["step", "fly"]),
        (r#"{"step":"begin_research","extra":1}"#.into(), &["extra"]),
        (
            session_body("open_consultation").replace("2026-12-05T19:30:00+08:00", "tomorrow"),
            &["session.starts_at"],
        ),
        (
            session_body("open_consultation")
                .replace(r#""place":"议事厅""#, r#""place":"议事厅","room":2"#),
            &["session", "room"],
        ),
        (r#"{"step":"open_consultation"}"#.into(), &["session"]),
    ];
    for (body, words) in step_cases {
        let answer = api.call("POST", &steps, Who::Convener, Some(body)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", words);
    }
    let progress = format!("/api/v1/topics/{}/progress", api.f.implementing.0);
    for (body, words) in [
        (r#"{"percent":300,"text":"x"}"#, &["percent"][..]),
        (r#"{"percent":101,"text":"x"}"#, &["percent"][..]),
        (r#"{"percent":-1,"text":"x"}"#, &["percent"][..]),
        (r#"{"percent":"half","text":"x"}"#, &["percent"][..]),
    ] {
        let answer = api.call("POST", &progress, Who::Convener, Some(body)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", words);
    }
    let answer = api
        .call(
            "POST",
            "/api/v1/notices",
            Who::GridWorker,
            Some(&NOTICE.replace("2027-01-01T00:00:00+08:00", "soon")),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::BAD_REQUEST,
        "bad_request",
        &["valid_until"],
    );
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    let api = Api::new();
    for (method, path, who, body) in [
        (
            "POST",
            "/api/v1/topics/999/steps",
            Who::Overseer,
            Some(r#"{"step":"confirm","note":"好"}"#),
        ),
        (
            "POST",
            "/api/v1/topics/999/minutes",
            Who::Convener,
            Some(r#"{"text":"纪要"}"#),
        ),
        ("GET", "/api/v1/topics/999/record.xml", Who::Nobody, None),
        ("GET", "/api/v1/topics/999/report.html", Who::Nobody, None),
        ("GET", "/api/v1/notices/999", Who::GridWorker, None),
    ] {
        let answer = api.call(method, path, who, body).await;
        assert_error(&answer, StatusCode::NOT_FOUND, "not_found", &["999"]);
    }
    let answer = api
        .call(
            "POST",
            "/api/v1/topics/abc/minutes",
            Who::Convener,
            Some(r#"{"text":"纪要"}"#),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", &["id"]);
}

#[tokio::test]
async fn a_fact_out_of_its_stage_is_a_conflict() {
    let api = Api::new();
    let answer = api
        .call(
            "POST",
            &format!("/api/v1/topics/{}/progress", api.f.research.0),
            Who::Convener,
            Some(r#"{"percent":10,"text":"开工"}"#),
        )
        .await;
    assert_error(&answer, StatusCode::CONFLICT, "conflict", &["research"]);
    let answer = api
        .call(
            "POST",
            &format!("/api/v1/topics/{}/steps", api.f.implementing.0),
            Who::Overseer,
            Some(r#"{"step":"approve"}"#),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::CONFLICT,
        "illegal_step",
        &["implementing", "complete"],
    );
}

#[tokio::test]
async fn a_body_too_large_is_refused() {
    let api = Api::new();
    let huge = format!(
        r#"{{"text":"{}"}}"#,
        "x".repeat(server::api::MAX_BODY_BYTES)
    );
    let answer = api
        .call(
            "POST",
            &format!("/api/v1/topics/{}/minutes", api.f.consultation.0),
            Who::Convener,
            Some(&huge),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &[],
    );
}

#[tokio::test]
async fn a_token_over_its_rate_is_told_when_to_retry() {
    let api = Api::with_limit(RateLimit {
        per_second: 0.01,
        burst: 3.0,
    });
    for _ in 0..3 {
        let (status, _, _) = api
            .call("GET", "/api/v1/comments", Who::Moderator, None)
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let answer = api
        .call("GET", "/api/v1/comments", Who::Moderator, None)
        .await;
    assert_error(&answer, StatusCode::TOO_MANY_REQUESTS, "rate_limited", &[]);
    let retry: u64 = answer.1["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    // Another token has its own bucket.
    let (status, _, _) = api
        .call(
            "GET",
            &format!("/api/v1/notices/{}", api.f.notice.0),
            Who::GridWorker,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_openapi_document_names_every_route() {
    let api = Api::new();
    let (status, _, doc) = api
        .call("GET", "/api/openapi.json", Who::Nobody, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"].as_str().unwrap().get(..3), Some("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for row in matrix(&api.f) {
        // The fixture's ids stand where the document has {id}.
        let templated: String = row
            .path
            .split('?')
            .next()
            .unwrap()
            .split('/')
            .map(|s| if s.parse::<i64>().is_ok() { "{id}" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let method = row.method.to_lowercase();
        assert!(
            paths.get(&templated).and_then(|p| p.get(&method)).is_some(),
            "{method} {templated} is not in the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn every_route_in_the_openapi_document_exists() {
    let api = Api::new();
    let (_, _, doc) = api
        .call("GET", "/api/openapi.json", Who::Nobody, None)
        .await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{id}", "1")
                .replace("{screen}", "home")
                .replace("{path}", "manifest.xml");
            let body = (method == "post").then_some("{}");
            let (status, _, answer) = api
                .call(&method.to_uppercase(), &concrete, Who::Operator, body)
                .await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                status != StatusCode::NOT_FOUND
                    || !answer["error"]["message"]
                        .as_str()
                        .unwrap()
                        .starts_with("no endpoint"),
                "{method} {path} is not routed"
            );
        }
    }
}

#[tokio::test]
async fn every_refusal_is_json() {
    let api = Api::new();
    let answer = api.call("GET", "/api/v1/nothing", Who::Nobody, None).await;
    assert_error(
        &answer,
        StatusCode::NOT_FOUND,
        "not_found",
        &["/api/v1/nothing"],
    );
    let answer = api.call("GET", "/api/v1/topics/x", Who::Nobody, None).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", &["id"]);
    let answer = api
        .call("GET", "/api/v1/topics?colour=red", Who::Nobody, None)
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", &["colour"]);
    let answer = api
        .call("GET", "/api/v1/topics/999/record", Who::Nobody, None)
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "not_found", &["999"]);
    // A body without its content type.
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/topics")
        .header("authorization", "Bearer sy_convener_1")
        .body(Body::from(PROPOSAL))
        .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A header that is not a bearer token is no token.
    let request = Request::builder()
        .uri("/api/v1/comments")
        .header("authorization", "Basic c3k6c3k=")
        .body(Body::empty())
        .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// The templates and assets of the source tree, as the binary finds them.
fn templates_and_assets() -> (std::path::PathBuf, std::path::PathBuf) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    (root.join("stb-templates"), root.join("assets"))
}

/// The city in a database file, with community 1's bundle built into `out`.
struct Built {
    tmp: tempfile::TempDir,
    db: std::path::PathBuf,
    out: std::path::PathBuf,
    store: Store,
    f: Fixture,
    templates_dir: std::path::PathBuf,
    assets_dir: std::path::PathBuf,
}

fn built_city() -> Built {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("shangyi.db");
    let out = tmp.path().join("bundles");
    let mut store = Store::open(&db).unwrap();
    let f = city(&mut store);
    let (templates_dir, assets_dir) = templates_and_assets();
    let report = broadcast::build(&broadcast::BuildOptions {
        db: &db,
        out: &out,
        community: Some(1),
        templates_dir: &templates_dir,
        assets_dir: &assets_dir,
        progress: None,
    })
    .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    Built {
        tmp,
        db,
        out,
        store,
        f,
        templates_dir,
        assets_dir,
    }
}

impl Built {
    /// The live rebuilds of this city's bundles, as `serve` starts them.
    fn start_live(&self) -> server::live::LiveHandle {
        server::live::start(self.live_settings())
    }

    fn live_settings(&self) -> server::live::LiveSettings {
        server::live::LiveSettings::new(
            self.db.clone(),
            self.out.clone(),
            self.templates_dir.clone(),
            self.assets_dir.clone(),
        )
    }
}

/// Reads `read` every 100 ms until it finds something, for at most 10 s.
async fn within_ten_seconds<T>(what: &str, mut read: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(found) = read() {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {what} within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The notices file of a community bundle, with the bundle's version.
fn bundle_notices(dir: &std::path::Path) -> Option<(u64, String)> {
    let manifest = bundle::read_manifest(dir).ok().flatten()?;
    let mut text = String::new();
    for file in manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with("notices/"))
    {
        text.push_str(&std::fs::read_to_string(dir.join(&file.path)).ok()?);
    }
    Some((manifest.version, text))
}

/// What a grid worker's notice left: the API (with live rebuilds), community 1's bundle
/// directory, its version before the notice, and the city's directory. Bind `_tmp` when
/// destructuring: `..` would drop it at once, and the database and bundles with it.
struct NoticePushed {
    api: Api,
    dir: std::path::PathBuf,
    before: u64,
    _tmp: tempfile::TempDir,
}

/// Serves `built` with `live` rebuilds and has a grid worker push [`NOTICE`] (answered 201).
async fn push_notice(built: Built, live: server::live::LiveHandle) -> NoticePushed {
    let Built {
        tmp, out, store, f, ..
    } = built;
    let dir = out.join("c-1");
    let (before, _) = bundle_notices(&dir).unwrap();
    let api = Api {
        app: server::router(server::AppState::new(store).with_live(live)),
        f,
        _bundles: None,
        _queue: None,
    };
    let (status, _, body) = api
        .call("POST", "/api/v1/notices", Who::GridWorker, Some(NOTICE))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    NoticePushed {
        api,
        dir,
        before,
        _tmp: tmp,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pushed_notice_reaches_its_communitys_bundle() {
    let built = built_city();
    let live = built.start_live();
    let NoticePushed {
        api,
        dir,
        before,
        _tmp,
    } = push_notice(built, live).await;

    within_ten_seconds("new bundle with the notice", || {
        bundle_notices(&dir)
            .filter(|(version, notices)| *version > before && notices.contains("停电通知"))
    })
    .await;
    let (status, _, metrics) = api.call("GET", "/metrics", Who::Nobody, None).await;
    assert_eq!(status, StatusCode::OK);
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    // The counters are there (their values race the build's last step, so are not checked).
    assert!(
        metrics.contains("shangyi_bundle_builds_total")
            && metrics.contains("shangyi_bundle_build_seconds_total"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_rebuild_is_retried_until_the_notice_reaches_the_bundle() {
    let built = built_city();
    // A plain file where the build stages community 1's new directory makes every write of
    // it fail, as a full disk would, until an operator clears it.
    let blocker = built.out.join(".c-1.tmp");
    std::fs::write(&blocker, "in the way").unwrap();
    let mut settings = built.live_settings();
    settings.quiet = std::time::Duration::from_millis(50);
    settings.retry_first = std::time::Duration::from_millis(200);
    settings.retry_max = std::time::Duration::from_millis(400);
    let live = server::live::start(settings);
    let metrics = live.metrics.clone();
    let NoticePushed {
        api,
        dir,
        before,
        _tmp,
    } = push_notice(built, live).await;

    // Tried, failed, and tried again by itself: no second write marked the community.
    within_ten_seconds("a second failed build", || {
        (metrics.build_failures() >= 2).then_some(())
    })
    .await;
    assert_eq!(metrics.retries_pending(), 1);
    let (_, _, text) = api.call("GET", "/metrics", Who::Nobody, None).await;
    assert!(
        text.as_str()
            .unwrap_or_default()
            .contains("shangyi_bundle_retries_pending 1"),
        "{text}"
    );
    let (version, notices) = bundle_notices(&dir).unwrap();
    assert_eq!(version, before, "the previous bundle stays on the air");
    assert!(!notices.contains("停电通知"));

    std::fs::remove_file(&blocker).unwrap();
    within_ten_seconds("the retried bundle with the notice", || {
        bundle_notices(&dir)
            .filter(|(version, notices)| *version > before && notices.contains("停电通知"))
    })
    .await;
    within_ten_seconds("no retry left pending", || {
        (metrics.retries_pending() == 0).then_some(())
    })
    .await;
}

#[test]
fn a_first_build_that_fails_outright_is_tried_again_until_every_bundle_is_built() {
    let built = built_city();
    // The templates are not there yet (a volume not mounted): no bundle can be built at all.
    let templates = built.tmp.path().join("templates");
    let mut settings = built.live_settings();
    settings.templates_dir = templates.clone();
    settings.retry_first = std::time::Duration::from_millis(100);
    settings.retry_max = std::time::Duration::from_millis(200);
    let (live, queue) = server::live::queue();
    std::thread::spawn(move || queue.build_all_then_run(&settings));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while live.metrics.build_failures() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no second try within 10 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let community_2 = built.out.join("c-2").join("manifest.xml");
    assert!(!community_2.exists());

    std::os::unix::fs::symlink(&built.templates_dir, &templates).unwrap();
    while !community_2.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "community 2's bundle not built within 10 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(live.metrics.retries_pending(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_read_bundles_and_screens_and_no_path_leaves_the_bundle() {
    let Built {
        tmp,
        db: _,
        out,
        store,
        f,
        templates_dir,
        assets_dir,
    } = built_city();
    // A secret beside the bundles that no path may reach.
    std::fs::write(tmp.path().join("secret.txt"), "secret").unwrap();
    let api = Api {
        app: server::router(
            server::AppState::new(store).with_bundles(server::BundlePaths {
                bundles_dir: out.clone(),
                templates_dir,
                assets_dir,
            }),
        ),
        f,
        _bundles: None,
        _queue: None,
    };

    let reads = [
        "/api/v1/bundles",
        "/api/v1/bundles/1/manifest.xml",
        "/api/v1/bundles/1/files/topics/community.json",
        "/api/v1/screens/1/home.png?theme=elders",
        "/api/v1/carousel?bitrate=2M",
    ];
    for path in reads {
        for who in EVERYONE {
            let (status, headers, body) = api.call("GET", path, who, None).await;
            let want = match who {
                Who::Operator => StatusCode::OK,
                Who::Nobody | Who::BadToken => StatusCode::UNAUTHORIZED,
                _ => StatusCode::FORBIDDEN,
            };
            assert_eq!(status, want, "GET {path} as {who:?}: {body}");
            if path.ends_with("elders") && who == Who::Operator {
                assert_eq!(headers["content-type"], "image/png");
            }
        }
    }
    let (_, _, body) = api
        .call("GET", "/api/v1/bundles", Who::Operator, None)
        .await;
    assert_eq!(body["bundles"][0]["id"], "c-1", "{body}");
    assert_eq!(body["bundles"][0]["version"], 1, "{body}");

    for path in [
        "/api/v1/bundles/1/files/../secret.txt",
        "/api/v1/bundles/1/files/../../secret.txt",
        "/api/v1/bundles/1/files/%2Fetc%2Fpasswd",
        "/api/v1/bundles/1/files/topics/..%2F..%2F..%2Fsecret.txt",
        "/api/v1/bundles/1/files/topics//community.json",
    ] {
        let answer = api.call("GET", path, Who::Operator, None).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", &["path"]);
    }
    // A file in the bundle's directory that its manifest does not list.
    let answer = api
        .call(
            "GET",
            "/api/v1/bundles/1/files/manifest.xml",
            Who::Operator,
            None,
        )
        .await;
    assert_error(
        &answer,
        StatusCode::NOT_FOUND,
        "not_found",
        &["lists no file"],
    );
    let answer = api
        .call("GET", "/api/v1/screens/1/nothing.png", Who::Operator, None)
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "not_found", &["nothing"]);
    let answer = api
        .call("GET", "/api/v1/bundles/2/manifest.xml", Who::Operator, None)
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "not_found", &["no bundle"]);
}

/// How many communities writes have marked for a live rebuild, from `/metrics`.
async fn marks(api: &Api) -> u64 {
    let (_, _, metrics) = api.call("GET", "/metrics", Who::Nobody, None).await;
    metrics
        .as_str()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("shangyi_bundle_marks_total "))
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn writes_that_change_the_screens_mark_their_communities() {
    let api = Api::new();
    assert_eq!(marks(&api).await, 0);
    let (status, _, body) = api
        .call(
            "POST",
            &format!("/api/v1/topics/{}/minutes", api.f.consultation.0),
            Who::Convener,
            Some(r#"{"text":"会议纪要"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(marks(&api).await, 1);
    let (status, _, body) = api
        .call(
            "POST",
            &format!("/api/v1/comments/{}/decision", api.f.comment.0),
            Who::Moderator,
            Some(r#"{"decision":"accept"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(marks(&api).await, 2);
    let (status, _, body) = api
        .call("POST", "/api/v1/notices", Who::GridWorker, Some(NOTICE))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(marks(&api).await, 3);
    // A refused write marks nothing.
    let (status, _, _) = api
        .call(
            "POST",
            "/api/v1/notices",
            Who::OtherGridWorker,
            Some(NOTICE),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(marks(&api).await, 3);
}

/// The tallies file of a community bundle for one topic, with the bundle's version.
fn bundle_tally(dir: &std::path::Path, topic: TopicId) -> Option<(u64, serde_json::Value)> {
    let manifest = bundle::read_manifest(dir).ok().flatten()?;
    let path = format!("tallies/{}.json", topic.0);
    manifest.files.iter().find(|f| f.path == path)?;
    let text = std::fs::read_to_string(dir.join(&path)).ok()?;
    Some((manifest.version, serde_json::from_str(&text).ok()?))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vote_from_a_box_reaches_its_communitys_bundle() {
    let built = built_city();
    let live = built.start_live();
    let Built {
        tmp: _tmp,
        db,
        out,
        store,
        f,
        ..
    } = built;
    let dir = out.join("c-1");
    let (before, _) = bundle_notices(&dir).unwrap();

    let master = returnpath::MasterSecret::from_bytes([7; 32]);
    let (ingest, _writer) = server::ingest::start(
        &db,
        master.clone(),
        server::ingest::IngestSettings {
            clock: std::sync::Arc::new(|| T0 + 1_000),
            live: Some(live.clone()),
            ..server::ingest::IngestSettings::default()
        },
    )
    .unwrap();
    let app = server::router(server::AppState::with_ingest(store, ingest).with_live(live));

    // Household 3 (grid 2) votes "oppose" from its box.
    let wire_card = returnpath::CardId::parse(card(3).as_str()).unwrap();
    let message = returnpath::sign_message(
        &returnpath::derive_card_key(&master, &wire_card),
        returnpath::Message {
            card_id: wire_card,
            seq: 1,
            sent_at: T0 + 999,
            body: returnpath::Body::Vote {
                topic_id: f.consultation.0,
                option: "oppose".into(),
            },
        },
    );
    let request = Request::post("/rc/v1/messages")
        .header("content-type", "application/json")
        .body(Body::from(
            returnpath::Batch {
                messages: vec![message],
            }
            .to_json(),
        ))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&bytes).contains("\"stored\""),
        "{}",
        String::from_utf8_lossy(&bytes)
    );

    // No API call and no operator: the stored vote alone brings a new version with it.
    let (_, tally) = within_ten_seconds("new bundle with the vote", || {
        bundle_tally(&dir, f.consultation).filter(|(version, _)| *version > before)
    })
    .await;
    let text = tally.to_string();
    assert!(text.contains("oppose"), "{text}");
}
