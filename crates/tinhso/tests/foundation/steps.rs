//! Per-step deadlines of the internal process (issue 3): each step opens with its own
//! deadline in working hours, stops with the legal clock during a supplement, and is late
//! when completed after it; forwarding cannot skip a leader's decision or the return.
//! Exact to the minute, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use super::onestop::{act, answers, get, post, token};
use super::support::{Backend, TestApp, paper_documents};
use crate::both;

/// (due_at, late, outcome) of each step, in order.
fn steps_of(d: &Value) -> Vec<(Option<String>, bool, Option<String>)> {
    d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["due_at"].as_str().map(str::to_owned),
                s["late"].as_bool().unwrap(),
                s["outcome"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

async fn step_deadlines(backend: Backend) {
    let app = TestApp::start(backend).await;
    let client = app.client();
    let counter = token(&app, "motcua").await;
    let specialist = token(&app, "chuyenvien").await;
    let leader = token(&app, "lanhdao").await;
    let form = answers(&app, "1.001193").await;

    // Birth registration: intake 1 h, review 4 h, decision 2 h, registry 0.5 h, return.
    // Counter intake Monday 1/3/2027 10:00: the intake step is done at receipt and the
    // review opens with 4 working hours → 10:00–11:30 and 13:00–15:30.
    app.clock.set("2027-03-01T10:00:00+07:00");
    let (status, d) = post(
        &client,
        app.url("/api/v1/dossiers"),
        &counter,
        &json!({
            "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter", "documents": paper_documents(3),
            "applicant": {"name": "Lê Thị Hoa", "id_number": "079200004400"}, "form": form,
        }),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    let code = d["code"].as_str().unwrap().to_owned();
    assert_eq!(d["due_at"], "2027-03-02T10:00:00+07:00");
    assert_eq!(
        steps_of(&d),
        vec![
            (None, false, some("done")),
            (some("2027-03-01T15:30:00+07:00"), false, None),
        ]
    );
    assert_eq!(d["steps"][1]["name"], "Thẩm định, xử lý");
    assert_eq!(d["steps"][1]["role"], "specialist");
    assert_eq!(d["steps"][1]["agency_code"], "000.00.31.H32");

    // Forwarding the review before processing started is out of order.
    let (status, e) = act(
        &app,
        &client,
        &specialist,
        &code,
        json!({"action": "complete_step"}),
    )
    .await;
    assert_eq!(
        (status, e["error"]["rule"].as_str()),
        (409, Some("dossier.out_of_order")),
        "{e}"
    );
    assert_eq!(
        act(
            &app,
            &client,
            &specialist,
            &code,
            json!({"action": "start_processing"})
        )
        .await
        .0,
        200
    );

    // Supplement requested Monday 14:00 after 2.5 h of review: both clocks stop. The
    // counter supplements on the applicant's behalf Tuesday 16:00: the review's remaining
    // 1.5 h run 16:00–17:00 and Wednesday 7:30–8:00; the legal clock's remaining 5.5 h
    // end Wednesday 13:30.
    app.clock.set("2027-03-01T14:00:00+07:00");
    let (status, d) = act(&app, &client, &specialist, &code, json!({"action": "request_supplement", "items": ["Giấy chứng sinh"], "reason": "Thiếu giấy chứng sinh"})).await;
    assert_eq!(status, 200, "{d}");
    app.clock.set("2027-03-02T16:00:00+07:00");
    let (status, d) = act(
        &app,
        &client,
        &counter,
        &code,
        json!({"action": "supplement"}),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["due_at"], "2027-03-03T13:30:00+07:00");
    assert_eq!(
        steps_of(&d)[1],
        (some("2027-03-03T08:00:00+07:00"), false, None)
    );

    // Wednesday 8:30 the open review is past its deadline: shown late while still open.
    app.clock.set("2027-03-03T08:30:00+07:00");
    let (_, d) = get(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}")),
        &specialist,
    )
    .await;
    assert_eq!(
        steps_of(&d)[1],
        (some("2027-03-03T08:00:00+07:00"), true, None)
    );

    // Forwarded at 9:00: the review is closed late and the leader's step opens (2 h → 11:00).
    app.clock.set("2027-03-03T09:00:00+07:00");
    // A double click sends two forwards at once: one moves the dossier on, the other is
    // refused, and the leader's step is not passed over.
    let forward = json!({"action": "complete_step", "note": "Đủ điều kiện"});
    let (first, second) = tokio::join!(
        act(&app, &client, &specialist, &code, forward.clone()),
        act(&app, &client, &specialist, &code, forward.clone()),
    );
    let mut statuses = [first.0, second.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", first.1, second.1);
    let (_, d) = get(
        &client,
        app.url(&format!("/api/v1/dossiers/{code}")),
        &specialist,
    )
    .await;
    assert_eq!(
        steps_of(&d)[1..],
        [
            (some("2027-03-03T08:00:00+07:00"), true, some("done")),
            (some("2027-03-03T11:00:00+07:00"), false, None),
        ]
    );
    // The leader's step is completed by the decision, not by forwarding.
    let (status, e) = act(
        &app,
        &client,
        &specialist,
        &code,
        json!({"action": "complete_step"}),
    )
    .await;
    assert_eq!(
        (status, e["error"]["rule"].as_str()),
        (409, Some("dossier.step_needs_decision")),
        "{e}"
    );

    // Approved at 10:00, on time; the registry step opens (0.5 h → 10:30).
    app.clock.set("2027-03-03T10:00:00+07:00");
    let (status, d) = act(&app, &client, &leader, &code, json!({"action": "approve"})).await;
    assert_eq!(status, 200, "{d}");
    assert!(!d["resolved_late"].as_bool().unwrap());
    assert_eq!(
        steps_of(&d)[2..],
        [
            (some("2027-03-03T11:00:00+07:00"), false, some("done")),
            (some("2027-03-03T10:30:00+07:00"), false, None),
        ]
    );

    // Returned at 11:00: the registry step was late; the return step is done with it. The
    // dossier as a whole is on time although two of its steps were late.
    app.clock.set("2027-03-03T11:00:00+07:00");
    let (status, d) = act(
        &app,
        &client,
        &counter,
        &code,
        json!({"action": "return_result", "method": "counter"}),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        steps_of(&d),
        vec![
            (None, false, some("done")),
            (some("2027-03-03T08:00:00+07:00"), true, some("done")),
            (some("2027-03-03T11:00:00+07:00"), false, some("done")),
            (some("2027-03-03T10:30:00+07:00"), true, some("done")),
            (None, false, some("done")),
        ]
    );
    assert!(!d["resolved_late"].as_bool().unwrap());

    // A withdrawal stops the open step; nothing opens after it.
    let (_, d) = post(&client, app.url("/api/v1/dossiers"), &counter, &json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter", "documents": paper_documents(3),
        "applicant": {"name": "Lê Thị Hoa", "id_number": "079200004400"}, "form": answers(&app, "1.001193").await,
    })).await;
    let second = d["code"].as_str().unwrap().to_owned();
    let (status, d) = act(
        &app,
        &client,
        &counter,
        &second,
        json!({"action": "withdraw", "reason": "Công dân rút hồ sơ"}),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["steps"].as_array().unwrap().len(), 2);
    assert_eq!(d["steps"][1]["outcome"], "stopped");
    app.stop().await;
}
both!(step_deadlines);
