//! The HJ 212 TCP server and the path from a reading to a case: frame, authenticate (MN + PW),
//! store, acknowledge (9014 after the commit), judge, and open/annotate one case per station and
//! problem through the normal lifecycle.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use jiesu_domain::case::Reporter;
use jiesu_domain::{
    Actor, CaseDraft, Channel, Command, Grant, Jurisdiction, Kind, Role, Time, UnitId, Urgency,
};
use jiesu_hj212::{CrcMode, Decoder, Frame, Packet, PacketRef, Reassembler};
use jiesu_monitor::{AlarmEvent, AlarmRules, Reading, Sample, Station, Tracker};
use jiesu_store::{NewAlarm, NewUser, SampleRow, StationRow, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a connection may stay silent before it is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// Connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 20_000;

pub const SYSTEM_USER: &str = "u-monitor";

/// A data upload that passed every check, waiting for its durable write.
struct Upload {
    reg: Arc<Registered>,
    row: SampleRow,
    /// The 9014 to send once stored, when the device asked for one.
    ack: Option<Vec<u8>>,
    /// A part of a split upload, kept for the tracker: the parts are joined before judging.
    part: Option<Packet>,
}

/// What one framed packet asks of its connection.
enum Step {
    Upload(Box<Upload>),
    /// An answer to send now (after the uploads read before it are stored and acknowledged).
    Reply(Vec<u8>),
    /// Refused (and logged), or nothing to answer.
    Nothing,
}

struct Registered {
    row: StationRow,
    station: Station,
    crc: CrcMode,
}

pub struct Ingest {
    store: Store,
    juris: Arc<Jurisdiction>,
    actor: Actor,
    stations: RwLock<HashMap<String, Arc<Registered>>>,
    trackers: Mutex<HashMap<String, Tracker>>,
    /// Evidence notes added per open alarm, so a long exceedance does not flood the trail.
    evidence: Mutex<HashMap<(String, String), u32>>,
    rules: AlarmRules,
    /// Readings older than this many days are deleted (0: keep everything).
    pub retention_days: std::sync::atomic::AtomicU32,
    last_purge: Mutex<std::time::Instant>,
    /// Stations heard from since the last status flush: MN → (last contact, latest class).
    seen: Mutex<HashMap<String, (i64, Option<jiesu_monitor::WaterClass>)>>,
    last_reload: Mutex<std::time::Instant>,
    clock: Box<dyn Fn() -> Time + Send + Sync>,
}

const MAX_EVIDENCE: u32 = 30;

fn now_beijing() -> Time {
    jiesu_domain::calendar::to_beijing(chrono::Utc::now())
}

/// HJ 212 DataTime (`YYYYMMDDhhmmss`, Beijing time) to unix milliseconds.
pub fn data_time_ms(s: &str) -> Option<i64> {
    // Hand-parsed: this runs for every packet, and chrono's format parser showed in profiles.
    let b = s.as_bytes().get(..14)?;
    if !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
    let t = chrono::NaiveDate::from_ymd_opt(n(0..4) as i32, n(4..6), n(6..8))?.and_hms_opt(
        n(8..10),
        n(10..12),
        n(12..14),
    )?;
    // DataTime is Beijing time (UTC+8).
    Some(t.and_utc().timestamp_millis() - 8 * 3600 * 1000)
}

fn kind_of(cn: &str) -> Option<(&'static str, &'static str)> {
    // (stored kind, the value field that carries it)
    match cn {
        "2011" => Some(("rtd", "Rtd")),
        "2051" => Some(("min", "Avg")),
        "2061" => Some(("hour", "Avg")),
        "2031" => Some(("day", "Avg")),
        _ => None,
    }
}

/// The sample a data upload carries: per factor its value field and its flag.
pub fn sample_of(p: &Packet) -> Option<(&'static str, Sample)> {
    sample_from(&p.cn, p.data_time(), p.factor_fields())
}

fn sample_of_ref(p: &PacketRef<'_>) -> Option<(&'static str, Sample)> {
    sample_from(p.cn, p.cp_value("DataTime"), p.factor_fields())
}

fn sample_from<'a>(
    cn: &str,
    data_time: Option<&str>,
    fields: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
) -> Option<(&'static str, Sample)> {
    let (kind, field) = kind_of(cn)?;
    let at_ms = data_time_ms(data_time?)?;
    let mut by_factor: Vec<Reading> = Vec::new();
    for (code, f, v) in fields {
        let idx = match by_factor.iter().position(|r| r.factor == code) {
            Some(i) => i,
            None => {
                by_factor.push(Reading {
                    factor: code.to_string(),
                    value: None,
                    flag: None,
                });
                by_factor.len() - 1
            }
        };
        if f == field {
            by_factor[idx].value = v.trim().parse::<f64>().ok().filter(|x| x.is_finite());
        } else if f == "Flag" {
            by_factor[idx].flag = Some(v.to_string());
        }
    }
    by_factor.retain(|r| r.value.is_some() || r.flag.is_some());
    Some((
        kind,
        Sample {
            at_ms,
            readings: by_factor,
        },
    ))
}

impl Ingest {
    /// Loads the stations and open alarms and makes sure the system user exists.
    pub async fn new(store: Store, juris: Arc<Jurisdiction>) -> anyhow::Result<Arc<Ingest>> {
        let root = juris
            .org
            .root()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the org tree is empty"))?;
        if store.user_by_username("monitor").await?.is_none() {
            // The system user acts; it never signs in.
            store
                .create_user(
                    &NewUser {
                        id: SYSTEM_USER.into(),
                        username: "monitor".into(),
                        display_name: "智慧监管系统".into(),
                        password_hash: jiesu_store::NO_PASSWORD.into(),
                        phone: None,
                        must_change_password: false,
                        grants: vec![Grant {
                            role: Role::Dispatcher,
                            unit: root.clone(),
                        }],
                    },
                    now_beijing().timestamp_millis(),
                )
                .await?;
        }
        let actor = Actor {
            user_id: SYSTEM_USER.into(),
            username: "monitor".into(),
            display_name: "智慧监管系统".into(),
            grants: vec![Grant {
                role: Role::Dispatcher,
                unit: root,
            }],
        };
        let ingest = Arc::new(Ingest {
            store,
            juris,
            actor,
            stations: RwLock::new(HashMap::new()),
            trackers: Mutex::new(HashMap::new()),
            evidence: Mutex::new(HashMap::new()),
            rules: AlarmRules::default(),
            retention_days: std::sync::atomic::AtomicU32::new(0),
            last_purge: Mutex::new(std::time::Instant::now()),
            seen: Mutex::new(HashMap::new()),
            last_reload: Mutex::new(
                std::time::Instant::now()
                    .checked_sub(Duration::from_secs(60))
                    .unwrap_or_else(std::time::Instant::now),
            ),
            clock: Box::new(now_beijing),
        });
        ingest.reload().await?;
        Ok(ingest)
    }

    /// Re-reads the station register (after registering or editing a station).
    pub async fn reload(&self) -> anyhow::Result<()> {
        let rows = self.store.stations().await?;
        // One query for every open alarm, not one per station and problem: this also runs when
        // an unknown MN shows up.
        let open = self.store.open_alarms().await?;
        let mut map = HashMap::new();
        let mut trackers = HashMap::new();
        for row in rows {
            let station: Station = serde_json::from_str(&row.config)?;
            let crc = CrcMode::parse(&row.crc_mode).unwrap_or_default();
            let mut t = Tracker {
                last_seen_ms: row.last_seen_ms,
                ..Tracker::default()
            };
            t.open.extend(
                open.iter()
                    .filter(|a| a.mn == row.mn)
                    .filter_map(|a| jiesu_monitor::Problem::parse(&a.problem)),
            );
            trackers.insert(row.mn.clone(), t);
            map.insert(row.mn.clone(), Arc::new(Registered { row, station, crc }));
        }
        if let Ok(mut s) = self.stations.write() {
            *s = map;
        }
        if let Ok(mut t) = self.trackers.lock() {
            for (mn, tr) in trackers {
                t.entry(mn).or_insert(tr);
            }
        }
        Ok(())
    }

    fn station(&self, mn: &str) -> Option<Arc<Registered>> {
        self.stations.read().ok()?.get(mn).cloned()
    }

    async fn refuse(&self, peer: &str, mn: Option<&str>, outcome: &str, detail: &str) {
        tracing::warn!(peer, mn, outcome, detail, "HJ 212 packet refused");
        if let Err(e) = self
            .store
            .log_ingest((self.clock)().timestamp_millis(), peer, mn, outcome, detail)
            .await
        {
            tracing::error!(error = %e, "cannot log refused packet");
        }
    }

    /// Checks one framed packet (frame, CRC, station, password) and says what the connection
    /// should do with it. Refusals are logged here; nothing is stored here.
    async fn handle(&self, bytes: &[u8], peer: &str) -> Step {
        let (data, stated) = match jiesu_hj212::split_frame(bytes) {
            Ok(x) => x,
            Err(e) => {
                self.refuse(peer, None, e.code(), &e.to_string()).await;
                return Step::Nothing;
            }
        };
        let Ok(text) = std::str::from_utf8(data) else {
            self.refuse(peer, None, "not_utf8", "data segment is not UTF-8")
                .await;
            return Step::Nothing;
        };
        // Borrowed fields: the hot path copies only what it stores.
        let packet = match jiesu_hj212::parse_data_segment_ref(text) {
            Ok(p) => p,
            Err(e) => {
                self.refuse(peer, None, e.code(), &e.to_string()).await;
                return Step::Nothing;
            }
        };
        let reg = match self.station(packet.mn) {
            Some(r) => Some(r),
            None => {
                // A station registered since the last load: look again, at most every 2 s.
                let due = self.last_reload.lock().is_ok_and(|mut t| {
                    let due = t.elapsed() > Duration::from_secs(2);
                    if due {
                        *t = std::time::Instant::now();
                    }
                    due
                });
                if due && let Err(e) = self.reload().await {
                    tracing::error!(error = %e, "station reload failed");
                }
                self.station(packet.mn)
            }
        };
        let Some(reg) = reg else {
            self.refuse(
                peer,
                Some(packet.mn),
                "unknown_mn",
                "no station registered with this MN",
            )
            .await;
            return Step::Nothing;
        };
        if let Err(e) = jiesu_hj212::check_crc(data, stated, reg.crc) {
            self.refuse(peer, Some(packet.mn), e.code(), &e.to_string())
                .await;
            return Step::Nothing;
        }
        if packet.pw != Some(reg.row.password.as_str()) {
            self.refuse(
                peer,
                Some(packet.mn),
                "bad_password",
                "PW does not match the station's",
            )
            .await;
            // A request that wants an answer hears why (QnRtn 3 = PW error); data gets no ack.
            return match packet.needs_ack() && kind_of(packet.cn).is_none() {
                true => Step::Reply(
                    jiesu_hj212::request_answer(&packet.to_packet(), 3)
                        .encode(reg.crc)
                        .into_bytes(),
                ),
                false => Step::Nothing,
            };
        }
        match packet.cn {
            cn if kind_of(cn).is_some() => match sample_of_ref(&packet) {
                Some((kind, sample)) => Step::Upload(Box::new(Upload {
                    row: SampleRow {
                        mn: reg.row.mn.clone(),
                        kind,
                        at_ms: sample.at_ms,
                        part: if packet.is_split() {
                            packet.pno.map_or(1, i64::from)
                        } else {
                            1
                        },
                        received_ms: (self.clock)().timestamp_millis(),
                        readings: sample.readings,
                    },
                    ack: packet.needs_ack().then(|| {
                        jiesu_hj212::data_ack_ref(&packet)
                            .encode(reg.crc)
                            .into_bytes()
                    }),
                    part: packet.is_split().then(|| packet.to_packet()),
                    reg,
                })),
                None => {
                    self.refuse(
                        peer,
                        Some(packet.mn),
                        "bad_data_time",
                        "a data upload needs DataTime as YYYYMMDDhhmmss",
                    )
                    .await;
                    Step::Nothing
                }
            },
            // Time-calibration request and other notifications: answer 9013.
            "1013" => Step::Reply(reply_9013(&packet.to_packet()).encode(reg.crc).into_bytes()),
            _ => Step::Nothing,
        }
    }

    /// Stores the uploads a connection has read so far in one durable write, then judges each
    /// (see [`Ingest::observe`]) and returns their acknowledgements, in order. `None` if the
    /// write failed: nothing is acknowledged, so the devices send again.
    async fn store_and_observe(
        &self,
        batch: Vec<Upload>,
        parts: &mut Reassembler,
    ) -> Option<Vec<u8>> {
        let mut rows = Vec::with_capacity(batch.len());
        let mut acks = Vec::new();
        let mut rest = Vec::with_capacity(batch.len());
        for u in batch {
            rows.push(u.row);
            if let Some(a) = u.ack {
                acks.extend_from_slice(&a);
            }
            rest.push((u.reg, u.part));
        }
        let n = rows.len();
        let rows = match self.store.store_samples(rows).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, n, "readings not stored");
                return None;
            }
        };
        for ((reg, part), row) in rest.into_iter().zip(rows) {
            self.observe(&reg, row, part, parts).await;
        }
        Some(acks)
    }

    /// After an upload is stored: the station's status, and its whole sample (split parts are
    /// joined first) through the alarm tracker, which may open or annotate a case.
    async fn observe(
        &self,
        reg: &Registered,
        row: SampleRow,
        part: Option<Packet>,
        parts: &mut Reassembler,
    ) {
        let (kind, received_ms) = (row.kind, row.received_ms);
        let whole = match part {
            Some(p) => match parts.push(p) {
                Ok(Some(whole)) => sample_of(&whole).map(|(_, s)| s),
                _ => None,
            },
            None => Some(Sample {
                at_ms: row.at_ms,
                readings: row.readings,
            }),
        };
        // One judgement serves the status and the tracker.
        let judgement = whole
            .as_ref()
            .filter(|_| reg.station.st == "21")
            .map(|s| jiesu_monitor::alarm::judge(&reg.station, s));
        let class = judgement.as_ref().and_then(|j| j.class);
        if let Ok(mut seen) = self.seen.lock() {
            // Look up before inserting: the MN is copied only for a station's first upload.
            match seen.get_mut(&reg.row.mn) {
                Some(e) => {
                    e.0 = e.0.max(received_ms);
                    e.1 = class.or(e.1);
                }
                None => {
                    seen.insert(reg.row.mn.clone(), (received_ms, class));
                }
            }
        }
        let Some(sample) = whole.filter(|_| kind != "day") else {
            return;
        };
        let events = match self.trackers.lock() {
            Ok(mut t) => {
                if !t.contains_key(&reg.row.mn) {
                    t.insert(reg.row.mn.clone(), Tracker::default());
                }
                t.get_mut(&reg.row.mn).map_or_else(Vec::new, |tr| {
                    tr.observe_judged(
                        &reg.station,
                        &sample,
                        judgement.as_ref(),
                        received_ms,
                        &self.rules,
                    )
                })
            }
            Err(_) => vec![],
        };
        for ev in events {
            if let Err(e) = self.on_alarm(reg, ev, sample.at_ms).await {
                tracing::error!(error = %e, mn = %reg.row.mn, "alarm not recorded");
            }
        }
    }

    /// Writes the stations' last contact and class to the store (the console's status).
    pub async fn flush_status(&self) {
        let batch: Vec<(String, i64, Option<String>)> = match self.seen.lock() {
            Ok(mut s) => s
                .drain()
                .map(|(mn, (at, c))| (mn, at, c.map(|c| c.as_str().to_string())))
                .collect(),
            Err(_) => return,
        };
        if !batch.is_empty()
            && let Err(e) = self.store.update_station_status(&batch).await
        {
            tracing::error!(error = %e, "station status not saved");
        }
    }

    /// Flushes station status, applies retention (hourly) and checks every station for silence;
    /// run it every few seconds.
    pub async fn tick(&self) {
        self.flush_status().await;
        let days = self
            .retention_days
            .load(std::sync::atomic::Ordering::Relaxed);
        let due = days > 0
            && self.last_purge.lock().is_ok_and(|mut t| {
                let due = t.elapsed() > Duration::from_secs(3600);
                if due {
                    *t = std::time::Instant::now();
                }
                due
            });
        if due {
            let before = (self.clock)().timestamp_millis() - i64::from(days) * 86_400_000;
            match self.store.purge_readings(before).await {
                Ok(n) => tracing::info!(deleted = n, days, "readings retention applied"),
                Err(e) => tracing::error!(error = %e, "readings retention failed"),
            }
        }
        let now = (self.clock)().timestamp_millis();
        let stations: Vec<Arc<Registered>> = match self.stations.read() {
            Ok(s) => s.values().cloned().collect(),
            Err(_) => return,
        };
        for reg in stations {
            let events = match self.trackers.lock() {
                Ok(mut t) => {
                    t.entry(reg.row.mn.clone())
                        .or_default()
                        .tick(&reg.station, now, &self.rules)
                }
                Err(_) => vec![],
            };
            for ev in events {
                if let Err(e) = self.on_alarm(&reg, ev, now).await {
                    tracing::error!(error = %e, mn = %reg.row.mn, "alarm not recorded");
                }
            }
        }
    }

    async fn on_alarm(&self, reg: &Registered, ev: AlarmEvent, at_ms: i64) -> anyhow::Result<()> {
        let now = (self.clock)();
        let when = jiesu_domain::calendar::from_unix_ms(at_ms)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        let mn = &reg.row.mn;
        match ev {
            AlarmEvent::Open { problem, summary } => {
                if let Some(open) = self.store.open_alarm(mn, problem.as_str()).await? {
                    self.annotate(&open.case_id, format!("监测证据（{when}）：{summary}"), now)
                        .await?;
                    return Ok(());
                }
                let category = ["environment.water", "environment"]
                    .into_iter()
                    .find(|c| self.juris.categories.get(c).is_some())
                    .map(str::to_string);
                let draft = CaseDraft {
                    channel: Channel::Monitor,
                    kind: Kind::Alarm,
                    category,
                    urgency: if problem == jiesu_monitor::Problem::Silence {
                        Urgency::Normal
                    } else {
                        Urgency::Urgent
                    },
                    title: format!("{}{}", reg.row.name, problem.name_zh()),
                    description: format!("监测站 {}（MN {mn}）{when}：{summary}", reg.row.name),
                    address: Some(reg.row.name.clone()),
                    location: match (reg.row.lon, reg.row.lat) {
                        (Some(lon), Some(lat)) => Some(jiesu_domain::case::GeoPoint { lon, lat }),
                        _ => None,
                    },
                    reporter: Reporter {
                        name: Some("智慧监管系统".into()),
                        ..Reporter::default()
                    },
                };
                // One case per station and problem, even if two nodes race: the key is the alarm.
                // The case, its dispatch and the alarm row commit together or not at all.
                let (case, _) = self
                    .store
                    .open_alarm_case(
                        self.juris.clone(),
                        NewAlarm {
                            draft,
                            dispatch: Command::Dispatch {
                                unit: UnitId::new(reg.row.unit_id.clone()),
                                co_units: vec![],
                                note: Some("监测告警自动派单".into()),
                            },
                            actor: self.actor.clone(),
                            key: format!("alarm:{mn}:{}:{at_ms}", problem.as_str()),
                            mn: mn.clone(),
                            problem: problem.as_str().to_string(),
                            at_ms,
                            summary: summary.clone(),
                            now,
                        },
                    )
                    .await?;
                tracing::info!(mn = %mn, problem = problem.as_str(), case = %case.number, "alarm case opened");
            }
            AlarmEvent::Evidence { problem, summary } => {
                let Some(open) = self.store.open_alarm(mn, problem.as_str()).await? else {
                    return Ok(());
                };
                let n = {
                    let mut m = self
                        .evidence
                        .lock()
                        .map_err(|_| anyhow::anyhow!("poisoned"))?;
                    let n = m
                        .entry((mn.clone(), problem.as_str().to_string()))
                        .or_insert(0);
                    *n += 1;
                    *n
                };
                if n <= MAX_EVIDENCE || n % 60 == 0 {
                    self.annotate(&open.case_id, format!("监测证据（{when}）：{summary}"), now)
                        .await?;
                }
            }
            AlarmEvent::Recovered { problem, summary } => {
                let Some(open) = self.store.open_alarm(mn, problem.as_str()).await? else {
                    return Ok(());
                };
                self.annotate(&open.case_id, format!("监测恢复（{when}）：{summary}"), now)
                    .await?;
                self.store.close_alarm(mn, problem.as_str(), at_ms).await?;
                if let Ok(mut m) = self.evidence.lock() {
                    m.remove(&(mn.clone(), problem.as_str().to_string()));
                }
            }
        }
        Ok(())
    }

    async fn annotate(&self, case_id: &str, text: String, now: Time) -> anyhow::Result<()> {
        let text: String = text.chars().take(jiesu_domain::case::MAX_NOTE).collect();
        self.store
            .command(
                self.juris.clone(),
                case_id,
                Command::Annotate { text },
                &self.actor,
                now,
            )
            .await?;
        Ok(())
    }
}

fn reply_9013(to: &Packet) -> Packet {
    let mut p = jiesu_hj212::data_ack(to);
    p.cn = "9013".into();
    p
}

/// Accepts connections until the listener fails; each connection runs in its own task.
pub async fn serve(ingest: Arc<Ingest>, listener: TcpListener) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let ticker = ingest.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            ticker.tick().await;
        }
    });
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, peer)) => {
                let ingest = ingest.clone();
                tokio::spawn(async move {
                    connection(ingest, stream, peer).await;
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn connection(ingest: Arc<Ingest>, mut stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let peer = peer.to_string();
    let mut decoder = Decoder::new();
    let mut parts = Reassembler::new(64);
    let mut buf = vec![0u8; 16 * 1024];
    let mut uploads: Vec<Upload> = Vec::new();
    loop {
        let n = match tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => return,
            Ok(Ok(n)) => n,
            Ok(Err(_)) => return,
        };
        decoder.push(&buf[..n]);
        // Every packet this read completed is checked, the uploads among them are stored in one
        // durable write, and only then acknowledged, in the order they came. The next read waits
        // for that: the socket's back-pressure slows a device that sends faster than we store.
        while let Some(frame) = decoder.next_frame() {
            let Frame::Packet(bytes) = frame else {
                continue;
            };
            match ingest.handle(&bytes, &peer).await {
                Step::Upload(u) => uploads.push(*u),
                Step::Reply(reply) => {
                    // Answers keep their place after the uploads sent before them.
                    if !flush(&ingest, &mut stream, &mut uploads, &mut parts).await
                        || stream.write_all(&reply).await.is_err()
                    {
                        return;
                    }
                }
                Step::Nothing => {}
            }
        }
        if !flush(&ingest, &mut stream, &mut uploads, &mut parts).await {
            return;
        }
        if decoder.buffered() > jiesu_hj212::stream::MAX_PACKET {
            // A length field promising more than any packet can hold: drop and resynchronise.
            decoder = Decoder::new();
        }
    }
}

/// Stores the pending uploads, feeds them to the alarm tracker, then acknowledges them; false
/// when the connection is gone.
async fn flush(
    ingest: &Ingest,
    stream: &mut TcpStream,
    uploads: &mut Vec<Upload>,
    parts: &mut Reassembler,
) -> bool {
    if uploads.is_empty() {
        return true;
    }
    // Judged before acknowledged: once a device has its 9014, any case its reading opens exists.
    let Some(acks) = ingest
        .store_and_observe(std::mem::take(uploads), parts)
        .await
    else {
        // Not stored, so not acknowledged: the device will send them again.
        return true;
    };
    acks.is_empty() || stream.write_all(&acks).await.is_ok()
}
