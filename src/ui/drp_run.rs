//! A DRP run from the console (SPEC §6, §7): the start form in the dialog (what starting
//! means, then the order reference, the reason when one is needed, the target host typed in
//! full), the answer to a confirm step, and the live run as the engine's [`RunUpdate`]s tell
//! it. Pure: the event loop runs the engine and feeds its updates here.

use crate::drp::engine::{RunRequest, RunUpdate, guards};
use crate::drp::journal::StepState;
use crate::drp::model::{Mode, Plan};
use crate::probe::parse::clean;
use crate::ui::state::{ConsoleState, Dialog, DialogAction};
use crate::ui::strings as s;
use crate::ui::update::Effect;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// The log tail kept for the live view: enough for a screen, bounded for a long copy.
pub const LOG_LINES: usize = 200;
/// The longest text a form field takes (an order reference, a reason, a host name).
const FIELD_MAX: usize = 120;

/// Where the start form is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Order,
    Reason,
    Host,
}

/// The start form's answers so far (it lives in the dialog's action: cancelling it drops
/// everything typed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartForm {
    pub runbook: String,
    pub mode: Mode,
    pub stage: Stage,
    pub order: String,
    pub reason: Option<String>,
    /// Emergency while production answers (as the console last saw it): a reason is asked.
    pub needs_reason: bool,
    /// The host to type in full (`guards::confirm_target` of the plan shown).
    pub target: String,
    pub production: String,
}

/// A step of the live run.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveStep {
    pub n: usize,
    pub kind: String,
    pub title: String,
    pub state: StepState,
    pub summary: String,
    pub fraction: Option<f64>,
    pub rate: Option<f64>,
    pub eta: Option<Duration>,
    pub started: Option<jiff::Timestamp>,
    pub ended: Option<jiff::Timestamp>,
}

/// A run started or resumed from this console, as its updates tell it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRun {
    pub runbook: String,
    pub mode: Mode,
    pub order: Option<String>,
    pub operator: String,
    pub resumed: bool,
    pub started_at: jiff::Timestamp,
    pub plan: Option<Box<Plan>>,
    /// The guards' words: direction, loss window, lock (their last text), and a refusal.
    pub direction: Option<String>,
    pub loss: Option<String>,
    pub lock: Option<String>,
    pub refused: Option<String>,
    pub steps: Vec<LiveStep>,
    pub log: VecDeque<String>,
    pub needs_ack: Option<(usize, String)>,
    pub ended: Option<(StepState, String)>,
    /// The operator asked it to stop once its current step has finished (`x`, confirmed).
    pub stop_asked: bool,
}

impl LiveRun {
    pub fn new(runbook: &str, mode: Mode, order: Option<String>, operator: &str) -> LiveRun {
        LiveRun {
            runbook: runbook.to_string(),
            mode,
            order,
            operator: operator.to_string(),
            resumed: false,
            started_at: jiff::Timestamp::now(),
            plan: None,
            direction: None,
            loss: None,
            lock: None,
            refused: None,
            steps: Vec::new(),
            log: VecDeque::new(),
            needs_ack: None,
            ended: None,
            stop_asked: false,
        }
    }

    pub fn running(&self) -> bool {
        self.ended.is_none()
    }

    /// The step running now, if one is.
    pub fn current(&self) -> Option<&LiveStep> {
        self.steps.iter().find(|s| s.state == StepState::Running)
    }

    fn step(&mut self, n: usize) -> &mut LiveStep {
        let i = match self.steps.iter().position(|s| s.n == n) {
            Some(i) => i,
            None => {
                self.steps.push(LiveStep {
                    n,
                    kind: String::new(),
                    title: String::new(),
                    state: StepState::Pending,
                    summary: String::new(),
                    fraction: None,
                    rate: None,
                    eta: None,
                    started: None,
                    ended: None,
                });
                self.steps.sort_by_key(|s| s.n);
                self.steps.iter().position(|s| s.n == n).unwrap_or(0)
            }
        };
        &mut self.steps[i]
    }

    fn log(&mut self, line: String) {
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }
}

impl ConsoleState {
    /// An update of the run this console follows.
    pub fn on_run_update(&mut self, u: RunUpdate) {
        let now = self.now;
        let Some(run) = self.drp.run.as_mut() else {
            return;
        };
        match u {
            RunUpdate::Planned(plan) => {
                for p in &plan.steps {
                    let st = run.step(p.number);
                    st.kind = p.step.word().to_string();
                    st.title = clean(&p.title, 80);
                }
                run.runbook = plan.runbook.clone();
                run.mode = plan.mode;
                run.plan = Some(plan);
            }
            RunUpdate::Guard { check, ok, text } => {
                let text = clean(&text, 300);
                match (check.as_str(), ok) {
                    ("direction", true) => run.direction = Some(text),
                    ("loss_window", true) => run.loss = Some(text),
                    ("lock", true) => run.lock = Some(text),
                    (_, false) => {
                        run.log(format!("{check}: {text}"));
                        run.refused = Some(text);
                    }
                    _ => run.log(format!("{check}: {text}")),
                }
            }
            RunUpdate::StepStarted { n, kind, title } => {
                let st = run.step(n);
                st.kind = clean(&kind, 20);
                st.title = clean(&title, 80);
                st.state = StepState::Running;
                st.started = Some(now);
                st.ended = None;
                st.fraction = None;
            }
            RunUpdate::Progress {
                n,
                fraction,
                rate,
                eta,
                summary,
            } => {
                let st = run.step(n);
                if let Some(f) = fraction.filter(|f| f.is_finite()) {
                    let f = f.clamp(0.0, 1.0);
                    st.fraction = Some(st.fraction.map_or(f, |old| old.max(f)));
                }
                st.rate = rate.filter(|r| r.is_finite() && *r >= 0.0);
                st.eta = eta;
                st.summary = clean(&summary, 200);
            }
            RunUpdate::Log { n, lines } => {
                for l in lines {
                    let l = clean(&l, 300);
                    run.log(format!("[{n}] {l}"));
                }
            }
            RunUpdate::StepEnded { n, state, summary } => {
                let st = run.step(n);
                st.state = state;
                st.summary = clean(&summary, 200);
                st.ended = Some(now);
                if state == StepState::Done {
                    st.fraction = st.fraction.map(|_| 1.0);
                }
            }
            RunUpdate::NeedsAck { n, ask } => {
                let ask = clean(&ask, 300);
                run.needs_ack = Some((n, ask.clone()));
                if self.dialog.is_none() && !self.read_only {
                    self.dialog = Some(ack_dialog(n, &ask));
                }
            }
            RunUpdate::Ended { state, summary } => {
                run.ended = Some((state, clean(&summary, 300)));
            }
        }
    }

    /// Whether the journal's newest run is not ended (an interrupted run `c` takes up).
    pub fn unfinished_run(&self) -> Option<&crate::drp::journal::RunState> {
        self.journal.runs.first().filter(|r| r.ended.is_none())
    }
}

/// The dialog asking a confirm step's question; the answer is journaled as its ack.
pub fn ack_dialog(n: usize, ask: &str) -> Dialog {
    Dialog {
        title: s::ACK_TITLE.into(),
        body: vec![
            format!("step {n}: {ask}"),
            String::new(),
            s::ACK_BODY.into(),
        ],
        ticket: None,
        confirm_word: Some(String::new()),
        note: None,
        input: String::new(),
        error: None,
        scroll: 0,
        on_confirm: DialogAction::Ack { n },
    }
}

/// The start form's dialog for `plan` (the one the DRP screen shows), or a dialog saying why
/// nothing can start.
pub fn start_dialog(state: &ConsoleState, plan: Result<Plan, String>, answers: bool) -> Dialog {
    let refusal = |why: String| Dialog {
        title: s::START_TITLE.into(),
        body: vec![clean(&why, 400)],
        ticket: None,
        confirm_word: None,
        note: Some(s::START_NOTHING.into()),
        input: String::new(),
        error: None,
        scroll: 0,
        on_confirm: DialogAction::Info,
    };
    if state.drp.run.as_ref().is_some_and(LiveRun::running) {
        return refusal(s::RUN_IN_PROGRESS.into());
    }
    if let Some(r) = state.unfinished_run() {
        return refusal(s::unfinished(&r.run));
    }
    let plan = match plan {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    let blockers = plan.blockers();
    if !blockers.is_empty() {
        let list: Vec<String> = blockers
            .iter()
            .map(|(n, why)| format!("step {n}: {}", clean(why, 200)))
            .collect();
        return refusal(format!("the plan cannot start: {}", list.join("; ")));
    }
    let form = StartForm {
        runbook: plan.runbook.clone(),
        mode: plan.mode,
        stage: Stage::Order,
        order: String::new(),
        reason: None,
        needs_reason: plan.mode == Mode::Emergency && answers,
        target: guards::confirm_target(&plan).to_string(),
        production: plan.production.name.clone(),
    };
    Dialog {
        title: s::START_TITLE.into(),
        body: form_body(state, &plan),
        ticket: None,
        confirm_word: Some(form.target.clone()),
        note: None,
        input: String::new(),
        error: None,
        scroll: 0,
        on_confirm: DialogAction::StartRun(Box::new(form)),
    }
}

/// What starting means: runbook, mode, direction, data-loss window, what the engine does.
fn form_body(state: &ConsoleState, plan: &Plan) -> Vec<String> {
    vec![
        s::start_what(
            &clean(&plan.runbook, 40),
            plan.mode,
            &clean(&state.site, 40),
        ),
        s::mode_text(
            plan.mode,
            &clean(&plan.production.name, 60),
            &clean(&plan.drp.name, 60),
        ),
        guards::direction_text(plan),
        guards::loss_text(plan),
        s::START_ENGINE.into(),
    ]
}

/// A key while a form dialog (start form or confirm step) is open. `None`: not a form.
pub fn form_key(state: &mut ConsoleState, key: &KeyEvent) -> Option<Effect> {
    let d = state.dialog.as_mut()?;
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let is_form = matches!(
        &d.on_confirm,
        DialogAction::StartRun(_) | DialogAction::Ack { .. } | DialogAction::Resume { .. }
    );
    if !is_form {
        return None;
    }
    match key.code {
        KeyCode::Esc => state.dialog = None,
        KeyCode::Char('c') if ctrl => state.dialog = None,
        KeyCode::Backspace => {
            d.input.pop();
            d.error = None;
        }
        KeyCode::Up => d.scroll = d.scroll.saturating_sub(1),
        KeyCode::Down => d.scroll = d.scroll.saturating_add(1),
        KeyCode::Char(c) if !ctrl && !c.is_control() => {
            if d.input.chars().count() < FIELD_MAX {
                d.input.push(c);
            }
            d.error = None;
        }
        KeyCode::Enter if !d.input.trim().is_empty() && !state.read_only => {
            return Some(form_enter(state));
        }
        // Enter on nothing typed does nothing: no default answer.
        _ => {}
    }
    Some(Effect::None)
}

/// Enter with something typed: the next stage, or the run.
fn form_enter(state: &mut ConsoleState) -> Effect {
    let Some(d) = state.dialog.as_mut() else {
        return Effect::None;
    };
    let typed = std::mem::take(&mut d.input);
    match d.on_confirm.clone() {
        DialogAction::Ack { n } => {
            state.dialog = None;
            if let Some(run) = state.drp.run.as_mut() {
                run.needs_ack = None;
                run.ended = None;
                run.resumed = true;
                // A new engine goes on, with a new stop signal.
                run.stop_asked = false;
            }
            let mut acks = BTreeMap::new();
            acks.insert(
                u32::try_from(n).unwrap_or(u32::MAX),
                typed.trim().to_string(),
            );
            Effect::ResumeRun(acks)
        }
        DialogAction::Resume { target } => {
            if typed != target {
                d.error = Some(s::wrong_host(&clean(&typed, 60), &clean(&target, 60)));
                return Effect::None;
            }
            state.dialog = None;
            resume(state)
        }
        DialogAction::StartRun(mut form) => {
            match form.stage {
                Stage::Order => match guards::check_order(&typed) {
                    Ok(o) => {
                        d.body.push(format!("order: {}", clean(&o, 60)));
                        form.order = o;
                        form.stage = if form.needs_reason {
                            Stage::Reason
                        } else {
                            Stage::Host
                        };
                    }
                    Err(why) => d.error = Some(why),
                },
                Stage::Reason => {
                    let reason = typed.trim().to_string();
                    d.body.push(format!("reason: {}", clean(&reason, 100)));
                    form.reason = Some(reason);
                    form.stage = Stage::Host;
                }
                Stage::Host if typed != form.target => {
                    d.error = Some(s::wrong_host(&clean(&typed, 60), &clean(&form.target, 60)));
                }
                Stage::Host => {
                    state.dialog = None;
                    state.drp.run = Some(LiveRun::new(
                        &form.runbook,
                        form.mode,
                        Some(form.order.clone()),
                        &state.operator,
                    ));
                    state.scroll = 0;
                    let form = *form;
                    return Effect::StartRun(Box::new(RunRequest {
                        runbook: form.runbook,
                        mode: form.mode,
                        order: form.order,
                        confirm: typed,
                        acks: BTreeMap::new(),
                        reason: form.reason,
                    }));
                }
            }
            d.on_confirm = DialogAction::StartRun(form);
            Effect::None
        }
        _ => Effect::None,
    }
}

/// `c` on the DRP screen: what resuming the journal's unfinished run means, and the host
/// it makes the serving site to type in full (a single key never sets a run going again).
pub fn resume_dialog(state: &ConsoleState) -> Option<Dialog> {
    if state.drp.run.as_ref().is_some_and(LiveRun::running) {
        return None;
    }
    let r = state.unfinished_run()?;
    let drp = state.config.drp.as_ref().map_or("", |d| d.drp.as_str());
    let target = r
        .plan
        .as_ref()
        .map_or(drp, guards::confirm_target)
        .to_string();
    let at = r
        .steps
        .iter()
        .find(|st| !st.state.is_final())
        .map(|st| {
            format!(
                "step {} {} ({})",
                st.number,
                clean(&st.title, 60),
                st.state.word()
            )
        })
        .unwrap_or_else(|| "its end".into());
    let mut body = vec![
        s::resume_what(
            &clean(&r.run, 40),
            &clean(&r.runbook, 40),
            r.mode,
            r.order.as_deref().map(|o| clean(o, 40)).as_deref(),
            &clean(&r.operator.describe(), 60),
        ),
        format!("It goes on at {at}."),
    ];
    if let Some(p) = &r.plan {
        body.push(guards::direction_text(p));
    }
    body.push(s::RESUME_ENGINE.into());
    Some(Dialog {
        title: s::RESUME_TITLE.into(),
        body,
        ticket: None,
        confirm_word: Some(target.clone()),
        note: None,
        input: String::new(),
        error: None,
        scroll: 0,
        on_confirm: DialogAction::Resume { target },
    })
}

/// The resume form confirmed: take up the journal's unfinished run (the engine re-checks it).
pub fn resume(state: &mut ConsoleState) -> Effect {
    if state.read_only || state.drp.run.as_ref().is_some_and(LiveRun::running) {
        return Effect::None;
    }
    let Some(r) = state.unfinished_run() else {
        return Effect::None;
    };
    let mut run = LiveRun::new(&r.runbook, r.mode, r.order.clone(), &r.operator.describe());
    run.resumed = true;
    run.started_at = r.started_at;
    state.drp.run = Some(run);
    state.scroll = 0;
    Effect::ResumeRun(BTreeMap::new())
}

#[cfg(test)]
#[path = "drp_run_tests.rs"]
mod tests;
