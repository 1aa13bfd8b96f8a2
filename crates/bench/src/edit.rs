//! "One edit, window to window": the path of a minutes edit from one device's window to a peer's window, through
//! the app's backend exactly as the window drives it (`Backend::request`), on two real engines on loopback.
//!
//! For each edit: Ana's window saves the minutes (the whole text, with the heads it was typed on); Bea's window
//! waits for the change event, reloads the group and checks the text. Measured: the time from the save to Bea's
//! window holding it, the bytes and messages the engines sent each way, the window's requests on both sides
//! (Ana's own echo is skipped when its heads are the ones the save returned), and the store flushes on both
//! devices.

use std::time::{Duration, Instant};

use sunspace_api::{Backend, ChangeOrigin, FlowStep, MeetingInput, Network, Request, Response};

use crate::{machine, median_ms};

#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Edits timed.
    #[arg(long, default_value_t = 50)]
    edits: usize,
    /// Characters in the minutes before the first timed edit.
    #[arg(long, default_value_t = 2000)]
    chars: usize,
}

const PASSPHRASE: &str = "benchmark passphrase, not a secret";

async fn ask(backend: &Backend, request: Request) -> anyhow::Result<Response> {
    backend.request(request).await.map_err(|e| anyhow::anyhow!("{e}"))
}

async fn view(backend: &Backend, group: &str) -> anyhow::Result<sunspace_model::GroupView> {
    match ask(backend, Request::Group { group: Some(group.into()) }).await? {
        Response::Group(page) => Ok(page.snapshot.view),
        other => anyhow::bail!("unexpected {other:?}"),
    }
}

async fn traffic(backend: &Backend) -> anyhow::Result<(u64, u64)> {
    match ask(backend, Request::Status).await? {
        Response::Status { status } => Ok((status.traffic.bytes_sent, status.traffic.messages_sent)),
        other => anyhow::bail!("unexpected {other:?}"),
    }
}

/// Two devices in one group, Bea admitted in person by Ana, with a meeting whose minutes both hold.
async fn two_windows(
    chars: usize,
) -> anyhow::Result<(Backend, Backend, String, String, String, Vec<tempfile::TempDir>)> {
    std::env::set_var("SUNSPACE_TEST_KDF", "minimum");
    let dirs = vec![tempfile::tempdir()?, tempfile::tempdir()?];
    let ana = Backend::new(dirs[0].path().join("data"), Network::Loopback);
    let bea = Backend::new(dirs[1].path().join("data"), Network::Loopback);
    ana.create_device("Ana".into(), PASSPHRASE.into()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    bea.create_device("Bea".into(), PASSPHRASE.into()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let Response::GroupChosen { group, .. } =
        ask(&ana, Request::CreateGroup { name: "Tenants".into(), display_name: None }).await?
    else {
        anyhow::bail!("no group")
    };
    let group = group.id;
    let meeting = MeetingInput { title: "General meeting".into(), ..MeetingInput::default() };
    let Response::Created { id: meeting, .. } =
        ask(&ana, Request::AddMeeting { group: Some(group.clone()), meeting }).await?
    else {
        anyhow::bail!("no meeting")
    };
    let invite = ana.invite(group.clone(), false).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let joining = bea.join(invite.qr_text.clone()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut ana_ok, mut bea_ok) = (false, false);
    while !(ana_ok && bea_ok) {
        anyhow::ensure!(Instant::now() < deadline, "the join did not finish");
        if !ana_ok && matches!(ana.flow(invite.flow.clone()).await, Ok(FlowStep::Compare { .. })) {
            ana.confirm(invite.flow.clone(), true).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            ana_ok = true;
        }
        if !bea_ok && matches!(bea.flow(joining.clone()).await, Ok(FlowStep::Compare { .. })) {
            bea.confirm(joining.clone(), true).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            bea_ok = true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text: String = "The landlord agreed to meet. ".chars().cycle().take(chars).collect();
    ask(
        &ana,
        Request::SetMinutes {
            group: Some(group.clone()),
            meeting: meeting.clone(),
            text: text.clone(),
            base: Vec::new(),
        },
    )
    .await?;
    loop {
        anyhow::ensure!(Instant::now() < deadline, "the minutes did not reach Bea");
        if let Ok(v) = view(&bea, &group).await {
            if v.meeting(&meeting).is_some_and(|m| m.minutes == text) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((ana, bea, group, meeting, text, dirs))
}

struct Figures {
    median_ms: f64,
    p95_ms: f64,
    ana_to_bea: f64,
    bea_to_ana: f64,
    messages: f64,
    window_requests: f64,
    flushes: f64,
}

async fn measure(options: &Options) -> anyhow::Result<Figures> {
    let (ana, bea, group, meeting, mut text, _dirs) = two_windows(options.chars).await?;
    let mut ana_heads = view(&ana, &group).await?.heads;
    let mut ana_events = ana.subscribe();
    let mut bea_events = bea.subscribe();
    let (mut times, mut to_bea, mut to_ana, mut messages, mut requests) = (Vec::new(), 0u64, 0u64, 0u64, 0u64);
    let flushes_before = sunspace_store::flushes();
    for n in 0..options.edits {
        let (a0, am0) = traffic(&ana).await?;
        let (b0, bm0) = traffic(&bea).await?;
        text.push_str(&format!(" Item {n} agreed."));
        let started = Instant::now();
        // Ana's window saves, with the heads it typed on.
        let request = Request::SetMinutes {
            group: Some(group.clone()),
            meeting: meeting.clone(),
            text: text.clone(),
            base: ana_heads.clone(),
        };
        let Response::MinutesSaved { heads, .. } = ask(&ana, request).await? else { anyhow::bail!("not saved") };
        requests += 1;
        ana_heads = heads;
        // Bea's window: a change event for the group, then a reload, until it shows the text.
        loop {
            let batch = tokio::time::timeout(Duration::from_secs(30), bea_events.recv()).await??;
            let changed = batch.iter().any(|e| {
                matches!(e, sunspace_api::AppEvent::Changed { group: g, origin: ChangeOrigin::Remote, .. } if *g == group)
            });
            if !changed {
                continue;
            }
            requests += 1;
            if view(&bea, &group).await?.meeting(&meeting).is_some_and(|m| m.minutes == text) {
                break;
            }
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        // Ana's window: its own echo carries the heads the save returned, so it does not reload.
        while let Ok(batch) = ana_events.try_recv() {
            let echo_only = batch.iter().all(|e| match e {
                sunspace_api::AppEvent::Changed { heads, .. } => {
                    let (mut a, mut b) = (heads.clone(), ana_heads.clone());
                    a.sort();
                    b.sort();
                    a == b
                }
                _ => true,
            });
            if !echo_only {
                requests += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (a1, am1) = traffic(&ana).await?;
        let (b1, bm1) = traffic(&bea).await?;
        to_bea += a1 - a0;
        to_ana += b1 - b0;
        messages += (am1 - am0) + (bm1 - bm0);
    }
    let flushes = sunspace_store::flushes() - flushes_before;
    let edits = options.edits as f64;
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let p95 = sorted[((sorted.len() as f64 - 1.0) * 0.95).round() as usize];
    Ok(Figures {
        median_ms: median_ms(&mut times),
        p95_ms: p95,
        ana_to_bea: to_bea as f64 / edits,
        bea_to_ana: to_ana as f64 / edits,
        messages: messages as f64 / edits,
        window_requests: requests as f64 / edits,
        flushes: flushes as f64 / edits,
    })
}

pub(crate) fn run(options: Options) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let figures = runtime.block_on(measure(&options))?;
    println!("Machine: {}", machine());
    println!(
        "One minutes edit, window to peer window ({} edits on minutes of {} characters, two engines on loopback):\n",
        options.edits, options.chars
    );
    println!("| figure | per edit |");
    println!("|---|---|");
    println!(
        "| time, save to the peer's window showing it (median / p95) | {:.1} ms / {:.1} ms |",
        figures.median_ms, figures.p95_ms
    );
    println!(
        "| bytes sent, writer → peer / peer → writer | {:.0} B / {:.0} B |",
        figures.ana_to_bea, figures.bea_to_ana
    );
    println!("| messages between the engines | {:.1} |", figures.messages);
    println!("| window requests (writer and peer) | {:.1} |", figures.window_requests);
    println!("| store flushes (both devices) | {:.1} |", figures.flushes);
    Ok(())
}
